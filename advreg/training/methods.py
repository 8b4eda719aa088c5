"""Training methods: what each kind does with a batch, all sharing one training loop (``advreg.training.loop``).

A method turns a batch into a scalar loss. Each kind's hyperparameters and checks are declared in
``advreg.training.method_kinds`` (torch-free, read by the config check), which names the class here that
implements it; a new kind of method is one declaration there and one class here, or one
``@register`` class in an extension.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from advreg.attacks import whitebox as attacks
from advreg.base.params import Param
from advreg.nn.modes import eval_mode
from advreg.nn.spectral import frozen_for_attacks
from advreg.sgr.covariance import RunningCovariance
from advreg.sgr.lrc_noise import LRCSampler, perturb
from advreg.sgr.regularizers import loss_and_input_grad, sgr_penalty, uncentered_term
from advreg.training import method_kinds
from advreg.training.method_kinds import MethodKind, check_method, method_kind


@dataclass
class MethodContext:
    """What a method may need beyond the batch."""
    device: torch.device
    generator: torch.Generator
    image_shape: tuple[int, int, int]  # (C, H, W)
    data_mean_diag: float  # mean per-pixel variance of the training images (pixel units)
    data_mean_norm: float = 1.0  # E‖X‖₂ of the training images (pixel units), the SN paper's C2
    extra: dict[str, Any] = field(default_factory=dict)


def step_logs(ce: torch.Tensor, reg: torch.Tensor | None, logits: torch.Tensor, y: torch.Tensor) -> dict:
    """A training step's statistics, kept as device tensors (issue 30: no host sync per step; the
    training loop sums them on the device and reads them once per logging interval)."""
    return {"ce": ce.detach(), "reg": torch.zeros((), device=ce.device) if reg is None else reg.detach(),
            "correct": (logits.detach().argmax(1) == y).sum()}


class Method:
    """Base class: plain empirical risk (cross-entropy on the clean batch)."""

    #: an extension's class declares here the hyperparameters its kind requires / may take
    #: (besides ``kind`` and model options), each with its type and range (advreg.base.params);
    #: ``register`` copies them into its advreg.training.method_kinds declaration (the built-in kinds are
    #: declared there directly)
    params: dict[str, Param] = {}
    optional_params: dict[str, Param] = {}

    def __init__(self, cfg: dict, ctx: MethodContext):
        self.cfg = cfg
        self.ctx = ctx

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = model(x)
        ce = F.cross_entropy(logits, y)
        return ce, step_logs(ce, None, logits, y)

    # Stateful methods (running covariance estimates) checkpoint through these.
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    @classmethod
    def check(cls, name: str, cfg: dict) -> None:
        """Kind-specific validation of hyperparameter values (raise ValueError naming the value)."""


def register(name: str) -> Callable[[type[Method]], type[Method]]:
    """Declare an extension's method class as kind ``name`` (advreg.training.method_kinds.register), with
    the ``params``, ``optional_params`` and ``check`` it carries."""
    def deco(cls: type[Method]) -> type[Method]:
        method_kinds.register(name, MethodKind(cls, dict(cls.params), dict(cls.optional_params), cls.check))
        return cls
    return deco


class WeightDecay(Method):
    """Clean training plus an L2 penalty ½·c·Σ‖W‖² on weight matrices/kernels (not biases),
    added to the loss as the SGR paper's "clean + L2 weight decay" baseline."""

    def loss(self, model, x, y):
        ce, logs = super().loss(model, x, y)
        l2 = sum((p * p).sum() for n, p in model.named_parameters() if p.ndim > 1)
        reg = 0.5 * self.cfg["weight_decay"] * l2
        logs["reg"] = reg.detach()
        return ce + reg, logs


def build_method(name: str, cfg: dict, ctx: MethodContext) -> Method:
    check_method(name, cfg)
    return method_kinds.implementation(method_kind(name, cfg))(cfg, ctx)


class _Mixture(Method):
    """Augmented training (SGR paper Eq. 3): (1 − mix)·ℓ(clean) + mix·ℓ(perturbed), both halves in
    one forward pass. ``reg`` logs the loss on the perturbed half."""

    def perturb(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, model, x, y):
        x_t = self.perturb(model, x, y).detach()
        logits = model(torch.cat([x, x_t]))
        b = len(x)
        ce_clean = F.cross_entropy(logits[:b], y)
        ce_pert = F.cross_entropy(logits[b:], y)
        mix = self.cfg["mix"]
        loss = (1 - mix) * ce_clean + mix * ce_pert
        return loss, step_logs(ce_clean, ce_pert, logits[:b], y)


class FGSMAugment(_Mixture):
    """Adversarial augmentation with FGSM examples of the model's *predicted* labels (no label
    leaking); ε in units of 1/255 as the paper reports it."""

    def perturb(self, model, x, y):
        with eval_mode(model):
            return attacks.fgsm(model, x, self.cfg["eps_255"] / 255)


class PGDAugment(_Mixture):
    """Adversarial augmentation with L∞ PGD examples (predicted labels)."""

    def perturb(self, model, x, y):
        c = self.cfg
        with eval_mode(model):
            return attacks.pgd(model, x, c["eps_255"] / 255, c["steps"], c["step_size_255"] / 255,
                               norm="linf", random_start=c["random_start"],
                               generator=self.ctx.generator)


class LRCAugment(_Mixture):
    """Clean training on inputs perturbed with long-range-correlated Gaussian noise (Sec. 4.3):
    x̃ = clip(x + ε·ξ), ξ ~ N(0, Σ_ζ) with unit marginal variance."""

    def __init__(self, cfg, ctx):
        super().__init__(cfg, ctx)
        c, h, w = ctx.image_shape
        self.sampler = LRCSampler(c, h, w, cfg["zeta"], inter_channel=cfg["inter_channel"],
                                  device=ctx.device)

    def perturb(self, model, x, y):
        return perturb(x, self.sampler.sample(len(x), generator=self.ctx.generator), self.cfg["eps"])


class SGR(Method):
    """Structured gradient regularization (Sec. 3, Eq. 11): ℓ + λ·½ gᵀΣ̂g with g = ∇ₓℓ, by double
    backprop. Σ̂ is the running raw second moment (Eq. 14, weight ``decay`` on the new batch) of
    perturbations from ``source``: loss gradients (``grad``), their sign (``sign``), FGSM or PGD
    perturbations (``fgsm``/``pgd``, predicted labels), standardized to the data covariance's mean
    diagonal (λ = noise-to-signal ratio). ``representation``: ``full`` matrix (Eq. 15) or the
    covariance ``function`` of pixel displacement (Eq. 16). Σ̂ is re-estimated every
    ``update_every`` steps. ``uncentered`` adds Eq. 12's first-order term λ·gᵀμ̂."""

    def __init__(self, cfg, ctx):
        super().__init__(cfg, ctx)
        c, h, w = ctx.image_shape
        kind = "identity" if cfg["source"] == "identity" else cfg["representation"]
        self.cov = RunningCovariance(kind, c, h, w, target=ctx.data_mean_diag, weight=cfg["decay"],
                                     device=ctx.device)
        self.mu = torch.zeros(ctx.image_shape, device=ctx.device)  # running mean, for Eq. 12
        self.steps = 0

    def perturbations(self, model, x, g):
        """ξ for the covariance estimate; its scale is irrelevant after standardization."""
        c, src = self.cfg, self.cfg["source"]
        if src == "grad":
            return g
        if src == "sign":
            return g.sign()
        with eval_mode(model):
            if src == "fgsm":
                return attacks.fgsm(model, x, c["eps_255"] / 255) - x
            return attacks.pgd(model, x, c["eps_255"] / 255, c["steps"], c["step_size_255"] / 255,
                               norm="linf", random_start=c["random_start"],
                               generator=self.ctx.generator) - x

    def loss(self, model, x, y):
        ce, g, logits = loss_and_input_grad(model, x, y, create_graph=True, return_logits=True)
        if self.cfg["source"] != "identity" and self.steps % self.cfg["update_every"] == 0:
            xi = self.perturbations(model, x, g.detach())
            self.cov.update(xi)
            w = self.cfg["decay"] if self.steps else 1.0
            self.mu = (1 - w) * self.mu + w * xi.mean(0)
        self.steps += 1
        pen = sgr_penalty(g, self.cov.apply)
        if self.cfg.get("uncentered") and self.cov.kind != "identity":
            pen = pen + uncentered_term(g, self.mu * self.cov.scale() ** 0.5)
        reg = self.cfg["lam"] * pen.mean()
        return ce.mean() + reg, step_logs(ce.mean(), reg, logits, y)

    def state_dict(self):
        return {"cov": self.cov.state_dict(), "mu": self.mu, "steps": self.steps}

    def load_state_dict(self, state):
        self.cov.load_state_dict(state["cov"])
        self.mu = state["mu"].to(self.ctx.device)
        self.steps = state["steps"]


class GN(SGR):
    """Gradient-norm regularization: SGR with Σ = I (scaled to the data's mean diagonal, like every
    Σ̂), i.e. the same code path with the identity source."""

    def __init__(self, cfg, ctx):
        super().__init__({**cfg, "source": "identity", "representation": "full", "decay": 1.0,
                          "update_every": 1}, ctx)


class _AdversarialOnly(Method):
    """Adversarial training of the SN paper (Farnia et al. 2019, authors' code): the loss is the
    cross-entropy on the adversarial examples only (no clean/adversarial mix); examples use the
    model's predicted labels and are not clipped to the data range. ε = ``eps_rel``·E‖X‖₂ (the
    paper's ℓ2 ε = 0.05·E‖X‖₂). ``ce``/``correct`` log the adversarial batch: the SN paper's
    accuracy under the training attack."""

    def adversarial(self, model, x):
        raise NotImplementedError

    def loss(self, model, x, y):
        # eval mode: the spectral-norm iterates stay frozen inside the attack loop (the SN authors'
        # code); frozen_for_attacks: each effective weight computed once for the attack's 2-16
        # forwards, not per forward (the value every eval forward computes: the step is bitwise the
        # same, tests/unit/test_methods.py), as evaluation already does
        with eval_mode(model), frozen_for_attacks(model):
            x_adv = self.adversarial(model, x).detach()
        logits = model(x_adv)
        ce = F.cross_entropy(logits, y)
        return ce, step_logs(ce, None, logits, y)


class FGMTraining(_AdversarialOnly):
    """FGM: x + ε·g/‖g‖₂ (one step, ℓ2)."""

    def adversarial(self, model, x):
        return attacks.fgm(model, x, self.cfg["eps_rel"] * self.ctx.data_mean_norm, clip=None)


class PGMTraining(_AdversarialOnly):
    """PGM: ℓ2 projected gradient, ``steps`` steps of 2ε/steps, no random start (SN paper: 15)."""

    def adversarial(self, model, x):
        eps = self.cfg["eps_rel"] * self.ctx.data_mean_norm
        return attacks.pgd(model, x, eps, self.cfg["steps"], 2 * eps / self.cfg["steps"], norm="l2",
                           random_start=False, clip=None)


class WRMTraining(_AdversarialOnly):
    """WRM (Sinha et al. 2018): gradient ascent on ℓ(x') − γ‖x' − x‖², γ = ``gamma_rel``·E‖X‖₂
    (SN paper: 0.002·C2 for CIFAR-10, 0.04·C2 for MNIST)."""

    def adversarial(self, model, x):
        return attacks.wrm(model, x, self.cfg["gamma_rel"] * self.ctx.data_mean_norm,
                           steps=self.cfg["steps"], clip=None)
