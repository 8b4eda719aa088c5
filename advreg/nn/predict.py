"""What a model predicts, batched: its labels and its accuracy, the one accuracy of the package
(validation during training, clean and adversarial accuracy in the jobs)."""
from __future__ import annotations

import torch
from torch import nn

from advreg.data.artifact import to_float


def model_device(model: nn.Module, fallback: torch.device) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return fallback


def batches(n: int, batch_size: int | None):
    step = n if not batch_size or batch_size <= 0 else batch_size
    for i in range(0, n, max(step, 1)):
        yield slice(i, min(i + step, n))



def predicted_labels(model: nn.Module, x: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
    """argmax of the model's logits, batched; returned on x's device. uint8 images (a dataset
    artifact's split, kept compact on the device) become pixels batch by batch."""
    dev = model_device(model, x.device)
    out = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    with torch.no_grad():
        for s in batches(x.shape[0], batch_size):
            xb = x[s].to(dev)
            out[s] = model(to_float(xb) if xb.dtype == torch.uint8 else xb).argmax(1).to(x.device)
    return out


def share(mask: torch.Tensor) -> float:
    """The share of True in a boolean mask, as count / n in double precision: every accuracy of
    the package is one (a float32 mean differs in the 8th digit, enough to flip a threshold such
    as the masking checks' 2-point tolerance at exactly 2 points)."""
    return mask.sum().item() / mask.numel()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None) -> float:
    """Fraction of x classified as y (in [0, 1]), exactly (the one accuracy of the package:
    validation during training, clean and adversarial accuracy in the jobs)."""
    pred = predicted_labels(model, x, batch_size)
    return share(pred == y.to(pred.device))
