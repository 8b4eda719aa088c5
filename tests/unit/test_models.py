"""Model shapes for both datasets and the in-model standardization."""
import copy

import pytest
import torch

from advreg.nn.layers import PerImageStandardize
from advreg.nn.models import build_from_spec, build_model, load_model, place, save_model


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


@pytest.mark.parametrize("spec", [
    {"arch": "cw", "in_channels": 3, "image_size": 32, "widths": [8, 8, 16, 16, 32, 32]},
    {"arch": "elunet", "in_channels": 1, "image_size": 28, "widths": [8, 16, 16],
     "spectral_norm": {"beta": 1.0, "mode": "operator"}},
])
def test_place_changes_layout_not_values(spec, tmp_path):
    """On the CPU ``place`` makes conv weights channels-last; logits, input gradients and a saved
    and reloaded model are the same as with the NCHW model (up to float round-off)."""
    torch.manual_seed(0)
    plain = build_from_spec(spec).eval()
    placed = place(copy.deepcopy(plain), "cpu")
    conv = next(m for m in placed.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(6, spec["in_channels"], spec["image_size"], spec["image_size"])
    grads = []
    for m in (plain, placed):
        xr = x.clone().requires_grad_(True)
        m(xr).logsumexp(1).sum().backward()
        grads.append(xr.grad)
    torch.testing.assert_close(placed(x), plain(x), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-6)
    save_model(tmp_path / "m.pt", placed, spec, {})
    loaded, _ = load_model(tmp_path / "m.pt")
    torch.testing.assert_close(loaded(x), plain(x), rtol=1e-5, atol=1e-6)


def test_cuda_numerics_exact_and_tf32_set_torch_flags_and_leave_the_cpu_alone():
    """Issue 30: `cuda_numerics: exact` (default) means fp32 convolutions and matmuls (no TF32),
    deterministic cuDNN without autotuning, deterministic algorithms; `tf32` the fast settings.
    A CPU job touches none of them; the checkpoint signature names the device."""
    from advreg.base import device

    keep = (torch.backends.fp32_precision, torch.backends.cuda.matmul.fp32_precision,
            torch.backends.cudnn.conv.fp32_precision, torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark, torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        assert device.pick_device("cpu+exact") == torch.device("cpu")
        assert device.pick_device("auto+tf32").type == ("cuda" if torch.cuda.is_available() else "cpu")
        if not torch.cuda.is_available():
            assert not torch.are_deterministic_algorithms_enabled()   # the CPU path is untouched
            assert device.device_signature(torch.device("cpu")) == "cpu"
        device.apply_cuda_numerics("exact")
        assert torch.backends.cudnn.conv.fp32_precision == "ieee"
        assert torch.backends.cuda.matmul.fp32_precision == "ieee"
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert torch.are_deterministic_algorithms_enabled()
        device.apply_cuda_numerics("tf32")
        assert torch.backends.cudnn.conv.fp32_precision == "tf32"
        assert not torch.backends.cudnn.deterministic and torch.backends.cudnn.benchmark
        assert not torch.are_deterministic_algorithms_enabled()
    finally:
        (torch.backends.fp32_precision, torch.backends.cuda.matmul.fp32_precision,
         torch.backends.cudnn.conv.fp32_precision, torch.backends.cudnn.deterministic,
         torch.backends.cudnn.benchmark) = keep[:5]
        torch.use_deterministic_algorithms(keep[5], warn_only=keep[6])
