"""Layers that are not in ``torch.nn`` and that several models use: TensorFlow's per-image
standardization (the SGR authors' preprocessing, inside every model) and TensorFlow's asymmetric
``'SAME'`` padding for a convolution of any stride (the SN authors' networks). Spectral
normalization (advreg.nn.spectral) handles these convolutions' padding through
``TFSameConv2d.explicit_padding``."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class PerImageStandardize(nn.Module):
    """(x − mean) / max(std, 1/√N) per image, as TensorFlow's per_image_standardization.

    The 1/√N floor keeps uniform images finite; it is what the SGR authors' TF/CleverHans
    setup applies.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        mean = flat.mean(1)
        std = flat.std(1, unbiased=False)
        floor = 1.0 / math.sqrt(flat.shape[1])
        std = torch.maximum(std, torch.full_like(std, floor))
        return (x - mean.view(-1, 1, 1, 1)) / std.view(-1, 1, 1, 1)


Pads = tuple[int, int, int, int]  # (left, right, top, bottom): F.pad order for the last two dims


def pair(x) -> tuple[int, int]:
    if isinstance(x, int):
        return (x, x)
    x = tuple(int(v) for v in x)
    if len(x) != 2:
        raise ValueError(f"expected an int or a pair, got {x!r}")
    return x  # type: ignore[return-value]


def tf_same_pads(h: int, w: int, kernel_size, stride=1, dilation=1) -> Pads:
    """TensorFlow 'SAME' zero padding for an (h, w) input: out = ceil(n/s), the odd pixel goes
    bottom/right. Returns (left, right, top, bottom)."""
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel_size), pair(stride), pair(dilation)

    def one(n, k, s, d):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        return total // 2, total - total // 2

    t, b = one(h, kh, sh, dh)
    l, r = one(w, kw, sw, dw)
    return (l, r, t, b)


class TFSameConv2d(nn.Conv2d):
    """``Conv2d`` with TensorFlow ``padding='SAME'`` for any stride (asymmetric when the total pad is
    odd: 0 top/left, 1 bottom/right for a stride-2 3×3 conv on an even input). The pad is computed
    from the input size at every call; the SN operator uses it through :meth:`explicit_padding`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, dilation=1,
                 groups: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0,
                         dilation=dilation, groups=groups, bias=bias)

    def explicit_padding(self, h: int, w: int) -> Pads:
        return tf_same_pads(h, w, self.kernel_size, self.stride, self.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = self.explicit_padding(x.shape[-2], x.shape[-1])
        if any(pads):
            x = F.pad(x, pads)
        return self._conv_forward(x, self.weight, self.bias)
