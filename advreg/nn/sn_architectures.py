"""The SN paper's small architectures (Farnia, Zhang & Tse 2019; authors' repo
``dl_spectral_normalization/models/{alexnet,elunet,inception,mlp}.py``), in PyTorch.

Each builder has the signature ``builder(in_channels, image_size, widths, num_classes)`` of
the builders named in :data:`advreg.nn.architectures.ARCHITECTURES` and returns a *plain* network; spectral normalization is added
afterwards with ``advreg.nn.sn_modes.apply_spectral_norm(model, (C, H, W), beta)`` (the authors' "no SN"
baselines are the same networks with β = ∞). ``widths``: ``None`` or ``[]`` selects the paper's
sizes; otherwise a list of the documented length overrides them (Inception ignores it).

Differences from the authors' setup (documented simplifications):
- Inputs are [0, 1] pixels; every model starts with :class:`advreg.nn.models.PerImageStandardize`
  (TF ``per_image_standardization``), whereas the authors whiten outside the model. They crop
  CIFAR/SVHN to 28×28; here the spatial sizes follow ``image_size`` (28 or 32; others that keep
  every feature map non-empty also work).
- TF ``'SAME'`` padding is reproduced exactly: symmetric ``padding=k//2`` for odd kernels with
  stride 1, :class:`advreg.nn.spectral.TFSameConv2d` (asymmetric when needed) for strided convs, and
  -inf padded max-pooling / valid-count average pooling for SAME pools.
- AlexNet keeps the paper's local response normalization (TF ``lrn(depth_radius=4, bias=1,
  alpha=0.001/9, beta=0.75)`` = ``nn.LocalResponseNorm(size=9, alpha=0.001, beta=0.75, k=1)``).
  No batch norm anywhere (the ``*_sn`` models have none).
- Init: Xavier/Glorot uniform weights and zero biases (TF ``xavier_initializer``), as the authors.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from advreg.nn.layers import PerImageStandardize, TFSameConv2d, tf_same_pads


def _widths(widths: Optional[Sequence[int]], default: list[int], arch: str) -> list[int]:
    if widths is None or len(widths) == 0:
        return list(default)
    widths = [int(w) for w in widths]
    if len(widths) != len(default):
        raise ValueError(f"{arch} takes {len(default)} widths (default {default}), got {widths!r}")
    return widths


def _xavier_init(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def _same_conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Conv2d:
    """TF 'SAME' conv: symmetric padding when it is symmetric for every input size."""
    if stride == 1 and k % 2 == 1:
        return nn.Conv2d(cin, cout, k, padding=k // 2)
    return TFSameConv2d(cin, cout, k, stride=stride)


class TFSameMaxPool2d(nn.Module):
    """TF ``max_pool(padding='SAME')``: pads with -inf (bottom/right gets the odd pixel)."""

    def __init__(self, kernel_size: int, stride: int):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = tf_same_pads(x.shape[-2], x.shape[-1], self.kernel_size, self.stride)
        if any(pads):
            x = F.pad(x, pads, value=float("-inf"))
        return F.max_pool2d(x, self.kernel_size, self.stride)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _check(side: int, arch: str, image_size: int) -> int:
    if side < 1:
        raise ValueError(f"image_size={image_size} is too small for {arch}")
    return side


# ----------------------------------------------------------------------------------------------
# AlexNet ("mini AlexNet", Zhang et al. 2017 / rharish101): conv5×5(96)-pool-LRN-conv5×5(256)-
# pool-LRN-FC384-FC192-FC
# ----------------------------------------------------------------------------------------------

def _alexnet(in_channels: int, image_size: int, widths, num_classes: int, act: Callable[[], nn.Module],
             arch: str) -> nn.Sequential:
    c1, c2, d1, d2 = _widths(widths, [96, 256, 384, 192], arch)
    side = (image_size - 3) // 2 + 1  # conv SAME, then max-pool 3×3/2 VALID
    side = _check((side - 3) // 2 + 1, arch, image_size)
    model = nn.Sequential(
        PerImageStandardize(),
        nn.Conv2d(in_channels, c1, 5, padding=2), act(),
        nn.MaxPool2d(3, 2),
        nn.LocalResponseNorm(9, alpha=0.001, beta=0.75, k=1.0),
        nn.Conv2d(c1, c2, 5, padding=2), act(),
        nn.MaxPool2d(3, 2),
        nn.LocalResponseNorm(9, alpha=0.001, beta=0.75, k=1.0),
        nn.Flatten(),
        nn.Linear(c2 * side * side, d1), act(),
        nn.Linear(d1, d2), act(),
        nn.Linear(d2, num_classes),
    )
    return _xavier_init(model)


def alexnet(in_channels: int, image_size: int, widths: Optional[Sequence[int]] = None,
            num_classes: int = 10) -> nn.Sequential:
    """AlexNet of the paper (``alexnet_sn``), ReLU. widths = [conv1, conv2, fc1, fc2], default
    [96, 256, 384, 192]. 28×28: 28→13→6, flatten 6·6·256; 32×32: 32→15→7."""
    return _alexnet(in_channels, image_size, widths, num_classes, nn.ReLU, "alexnet")


def alexnet_elu(in_channels: int, image_size: int, widths: Optional[Sequence[int]] = None,
                num_classes: int = 10) -> nn.Sequential:
    """ELU-AlexNet (``alexnet_elu_sn``): AlexNet with ELU activations."""
    return _alexnet(in_channels, image_size, widths, num_classes, nn.ELU, "alexnet_elu")


# ----------------------------------------------------------------------------------------------
# ELU-Net (Sinha et al. 2018 MNIST net)
# ----------------------------------------------------------------------------------------------

def elunet(in_channels: int, image_size: int, widths: Optional[Sequence[int]] = None,
           num_classes: int = 10) -> nn.Sequential:
    """conv8×8/2 SAME(64)-ELU-conv6×6/2 VALID(128)-ELU-conv5×5 VALID(128)-ELU-FC.
    widths = [c1, c2, c3], default [64, 128, 128]. 28×28: 28→14→5→1; 32×32: 32→16→6→2."""
    c1, c2, c3 = _widths(widths, [64, 128, 128], "elunet")
    side = _ceil_div(image_size, 2)  # stride-2 SAME
    side = (side - 6) // 2 + 1
    side = _check(side - 4, "elunet", image_size)
    model = nn.Sequential(
        PerImageStandardize(),
        _same_conv(in_channels, c1, 8, stride=2), nn.ELU(),
        nn.Conv2d(c1, c2, 6, stride=2), nn.ELU(),
        nn.Conv2d(c2, c3, 5), nn.ELU(),
        nn.Flatten(),
        nn.Linear(c3 * side * side, num_classes),
    )
    return _xavier_init(model)


# ----------------------------------------------------------------------------------------------
# Mini-Inception (Zhang et al. 2017; authors' inception_sn, no BN)
# ----------------------------------------------------------------------------------------------

class InceptionModule(nn.Module):
    """1×1 conv ‖ 3×3 SAME conv, each followed by ReLU, concatenated on channels."""

    def __init__(self, cin: int, ch1: int, ch3: int):
        super().__init__()
        self.conv_ch1 = nn.Conv2d(cin, ch1, 1)
        self.conv_ch3 = nn.Conv2d(cin, ch3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.conv_ch1(x)), F.relu(self.conv_ch3(x))], dim=1)


class DownsampleModule(nn.Module):
    """3×3 stride-2 SAME conv + ReLU ‖ 3×3/2 SAME max-pool, concatenated on channels."""

    def __init__(self, cin: int, ch3: int):
        super().__init__()
        self.conv_ch3 = TFSameConv2d(cin, ch3, 3, stride=2)
        self.pool = TFSameMaxPool2d(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.conv_ch3(x)), self.pool(x)], dim=1)


def inception(in_channels: int, image_size: int, widths: Optional[Sequence[int]] = None,
              num_classes: int = 10) -> nn.Sequential:
    """Mini-Inception (``inception_sn``): conv3×3(96) → Incept(32,32) → Incept(32,48) → Down(80) →
    Incept(112,48) → Incept(96,64) → Incept(80,80) → Incept(48,96) → Down(96) → Incept(176,160) ×2 →
    7×7 avg-pool stride 1 SAME → FC. ``widths`` is ignored. 28×28: 28→14→7, flatten 7·7·336;
    32×32: 32→16→8."""
    side = _ceil_div(_ceil_div(image_size, 2), 2)  # two stride-2 SAME downsamples
    model = nn.Sequential(
        PerImageStandardize(),
        nn.Conv2d(in_channels, 96, 3, padding=1), nn.ReLU(),
        InceptionModule(96, 32, 32),
        InceptionModule(64, 32, 48),
        DownsampleModule(80, 80),
        InceptionModule(160, 112, 48),
        InceptionModule(160, 96, 64),
        InceptionModule(160, 80, 80),
        InceptionModule(160, 48, 96),
        DownsampleModule(144, 96),
        InceptionModule(240, 176, 160),
        InceptionModule(336, 176, 160),
        nn.AvgPool2d(7, stride=1, padding=3, count_include_pad=False),  # TF SAME: mean of valid cells
        nn.Flatten(),
        nn.Linear(336 * side * side, num_classes),
    )
    return _xavier_init(model)


# ----------------------------------------------------------------------------------------------
# MLPs (authors' mlp1_elu_sn / mlp2_elu_sn)
# ----------------------------------------------------------------------------------------------

def _mlp(in_channels: int, image_size: int, hidden: Sequence[int], num_classes: int) -> nn.Sequential:
    layers: list[nn.Module] = [PerImageStandardize(), nn.Flatten()]
    fan_in = in_channels * image_size * image_size
    for h in hidden:
        layers += [nn.Linear(fan_in, int(h)), nn.ELU()]
        fan_in = int(h)
    layers.append(nn.Linear(fan_in, num_classes))
    return _xavier_init(nn.Sequential(*layers))


def mlp(in_channels: int, image_size: int, widths: Optional[Sequence[int]] = None,
        num_classes: int = 10) -> nn.Sequential:
    """ELU MLP; widths = hidden layer sizes (any number), default [512] (the paper's 1-layer MLP)."""
    hidden = [512] if widths is None or len(widths) == 0 else list(widths)
    return _mlp(in_channels, image_size, hidden, num_classes)


def mlp2(in_channels: int, image_size: int, widths: Optional[Sequence[int]] = None,
         num_classes: int = 10) -> nn.Sequential:
    """The paper's 2-hidden-layer ELU MLP; widths = [h1, h2], default [512, 512]."""
    return _mlp(in_channels, image_size, _widths(widths, [512, 512], "mlp2"), num_classes)
