"""Training methods: one registry entry each, all sharing one training loop (``advreg.train``).

A method turns a batch into a scalar loss. Config entries under ``methods:`` name a registry
``kind`` (default: the entry's own name) plus its hyperparameters, so a new variant of an existing
method is a config entry and a new kind of method is one class here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class MethodContext:
    """What a method may need beyond the batch."""
    device: torch.device
    generator: torch.Generator
    image_shape: tuple[int, int, int]  # (C, H, W)
    data_mean_diag: float  # mean per-pixel variance of the training images (pixel units)
    extra: dict[str, Any] = field(default_factory=dict)


class Method:
    """Base class: plain empirical risk (cross-entropy on the clean batch)."""

    #: hyperparameter names this kind accepts (besides ``kind`` and model options)
    params: tuple[str, ...] = ()

    def __init__(self, cfg: dict, ctx: MethodContext):
        self.cfg = cfg
        self.ctx = ctx

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        logits = model(x)
        ce = F.cross_entropy(logits, y)
        return ce, {"ce": ce.item(), "reg": 0.0, "correct": (logits.argmax(1) == y).sum().item()}

    # Stateful methods (running covariance estimates) checkpoint through these.
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


METHODS: dict[str, type[Method]] = {}

# Keys any method entry may carry that configure the model or the registry, not the objective.
COMMON_KEYS = ("kind", "spectral_norm")


def register(name: str) -> Callable[[type[Method]], type[Method]]:
    def deco(cls: type[Method]) -> type[Method]:
        METHODS[name] = cls
        return cls
    return deco


register("clean")(Method)


@register("wdecay")
class WeightDecay(Method):
    """Clean training plus an L2 penalty ½·c·Σ‖W‖² on weight matrices/kernels (not biases),
    added to the loss as the SGR paper's "clean + L2 weight decay" baseline."""
    params = ("weight_decay",)

    def loss(self, model, x, y):
        ce, logs = super().loss(model, x, y)
        l2 = sum((p * p).sum() for n, p in model.named_parameters() if p.ndim > 1)
        reg = 0.5 * self.cfg["weight_decay"] * l2
        logs["reg"] = reg.item()
        return ce + reg, logs


def method_kind(name: str, cfg: dict) -> str:
    return cfg.get("kind", name)


def check_method(name: str, cfg: dict) -> None:
    """Reject an unknown kind or unknown/missing hyperparameters, naming the bad value."""
    kind = method_kind(name, cfg)
    if kind not in METHODS:
        raise ValueError(f"method {name!r}: unknown kind {kind!r}; expected one of {sorted(METHODS)}")
    cls = METHODS[kind]
    unknown = set(cfg) - set(cls.params) - set(COMMON_KEYS)
    if unknown:
        raise ValueError(f"method {name!r} (kind {kind!r}): unknown parameter(s) {sorted(unknown)}; "
                         f"expected {sorted(cls.params)}")
    missing = set(cls.params) - set(cfg)
    if missing:
        raise ValueError(f"method {name!r} (kind {kind!r}): missing parameter(s) {sorted(missing)}")


def build_method(name: str, cfg: dict, ctx: MethodContext) -> Method:
    check_method(name, cfg)
    return METHODS[method_kind(name, cfg)](cfg, ctx)
