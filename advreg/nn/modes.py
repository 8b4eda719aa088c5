"""A model's training/eval mode, switched for a block and restored after it (attacks, evaluation,
spectral-norm bookkeeping)."""
from __future__ import annotations

import contextlib

from torch import nn


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Generate perturbations with the model in eval mode: identical outputs for our models (no
    dropout/batch-norm), and spectral-norm power iterations stay frozen inside attack loops, as in
    the SN authors' code."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
