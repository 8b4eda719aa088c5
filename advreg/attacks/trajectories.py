"""Softmax outputs along the straight line from a clean input to its adversarial example (Fig. 6)."""
from __future__ import annotations

import torch
from torch import nn

from advreg.nn.predict import model_device


@torch.no_grad()
def softmax_along_line(model: nn.Module, x_clean: torch.Tensor, x_adv: torch.Tensor, steps: int,
                       batch_size: int | None = 1024) -> torch.Tensor:
    """softmax(model(x_clean + t·(x_adv − x_clean))) for t in linspace(0, 1, steps).

    Points are formed with ``torch.lerp`` (exact at both endpoints), evaluated in batches of
    ``batch_size`` points. Returns (n, steps, K) on x_clean's device, in float32 or x's dtype.
    The model's train/eval mode is left as it is.
    """
    if x_clean.shape != x_adv.shape:
        raise ValueError(f"clean {tuple(x_clean.shape)} vs adversarial {tuple(x_adv.shape)}")
    if steps < 2:
        raise ValueError(f"steps must be ≥ 2 (both endpoints), got {steps}")
    dev = model_device(model, x_clean.device)
    n = x_clean.shape[0]
    t = torch.linspace(0.0, 1.0, steps, dtype=x_clean.dtype, device=dev)
    # one flat list of n·steps points, example-major: point p = (i, s) with p = i·steps + s
    total = n * steps
    step = total if not batch_size or batch_size <= 0 else int(batch_size)
    xc, xa = x_clean.to(dev), x_adv.to(dev)
    out = []
    for start in range(0, total, step):
        p = torch.arange(start, min(start + step, total), device=dev)
        i, s = p // steps, p % steps
        a, b = xc[i], xa[i]
        pts = torch.lerp(a, b, t[s].view(-1, *([1] * (a.dim() - 1))))
        out.append(torch.softmax(model(pts), dim=1))
    return torch.cat(out).view(n, steps, -1).to(x_clean.device)
