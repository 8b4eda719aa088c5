"""Model shapes for both datasets and the in-model standardization."""
import pytest
import torch

from advreg.models import PerImageStandardize, build_model


@pytest.mark.parametrize("c,size,widths,flat", [
    (1, 28, [32, 32, 64, 64, 200, 200], 64 * 4 * 4),      # MNIST: 28→26→24→12→10→8→4
    (3, 32, [64, 64, 128, 128, 256, 256], 128 * 5 * 5),   # CIFAR-10: 32→30→28→14→12→10→5
])
def test_cw_shapes(c, size, widths, flat):
    model = build_model("cw", c, size, widths)
    x = torch.rand(5, c, size, size)
    assert model(x).shape == (5, 10)
    dense = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert dense[0].in_features == flat and [d.out_features for d in dense] == [widths[4], widths[5], 10]
    convs = [m for m in model if isinstance(m, torch.nn.Conv2d)]
    assert all(m.kernel_size == (3, 3) and m.stride == (1, 1) and m.padding == (0, 0) for m in convs)


def test_standardization_is_per_image():
    x = torch.rand(4, 3, 8, 8) * 0.5 + torch.arange(4).view(4, 1, 1, 1)
    z = PerImageStandardize()(x)
    assert torch.allclose(z.flatten(1).mean(1), torch.zeros(4), atol=1e-5)
    assert torch.allclose(z.flatten(1).std(1, unbiased=False), torch.ones(4), atol=1e-4)
    # a constant image stays finite (std floor 1/sqrt(N))
    assert torch.isfinite(PerImageStandardize()(torch.full((1, 1, 4, 4), 0.3))).all()


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_model("resnet", 1, 28, [1] * 6)
