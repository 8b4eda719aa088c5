"""Batched data augmentation on the device (SGR paper Sec. 4.1: zero-pad 4, random crop back to
the original size, horizontal flip with probability ½; CIFAR padded with the mid-range value).

Whole batches are transformed with a few tensor ops instead of per-sample work, so the dataset can
stay on the GPU as one tensor.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop(x: torch.Tensor, pad: int, fill: float, generator: torch.Generator) -> torch.Tensor:
    """Pad every image by ``pad`` with ``fill`` and crop a random window of the original size."""
    if pad == 0:
        return x
    b, c, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad), value=fill)
    di = torch.randint(0, 2 * pad + 1, (b,), device=x.device, generator=generator)
    dj = torch.randint(0, 2 * pad + 1, (b,), device=x.device, generator=generator)
    rows = di[:, None] + torch.arange(h, device=x.device)  # (B, H)
    cols = dj[:, None] + torch.arange(w, device=x.device)  # (B, W)
    xp = xp.gather(2, rows[:, None, :, None].expand(b, c, h, w + 2 * pad))
    return xp.gather(3, cols[:, None, None, :].expand(b, c, h, w))


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability ½."""
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def augment(x: torch.Tensor, crop_pad: int, flip: bool, fill: float,
            generator: torch.Generator) -> torch.Tensor:
    x = random_crop(x, crop_pad, fill, generator)
    return random_flip(x, generator) if flip else x
