"""Structured gradient regularization (SGR, Roth et al. 2018) and gradient-norm (GN) penalties.

Notation (paper Sec. 2, spec README): x in pixel space [0, 1], label y, logits φ(x) (the paper's
``varphi``), p(y|x) = softmax(φ)_y, loss ℓ(x, y) = −log p(y|x), input gradient g = ∇ₓℓ = −∇ₓ log p_y.

Second-order expansion (Eqs. 4–6) of the expected loss under additive noise x̃ = x + ξ with
E[ξ] = μ and raw second moments E[ξξᵀ] = Σ (Eq. 1):

    E[ℓ(x+ξ)] = ℓ + gᵀμ + ½ Tr(∇²ℓ Σ) + O(E‖ξ‖³),
    ∇²ℓ = g gᵀ − ∇²p_y / p_y                                   (Eq. 6 with ℓ = −log p_y).

The paper drops Tr(∇²p_y/p_y Σ) (Eqs. 7–10: it vanishes in expectation over y ~ p(y|x) because
Σ_y ∇²p_y = ∇²1 = 0, Eq. 9), which leaves the SGR penalty ½ gᵀΣg (Eq. 11) plus, for uncentered
noise, the first-order term gᵀμ = −∇log p_yᵀμ (Eq. 12). GN is SGR with Σ = I.

Every function here is per sample: it returns a (B,) tensor; the caller averages over the batch.
The per-sample input gradient is taken as ∇ₓ Σ_b ℓ_b, which is exact because the models in this
package treat samples independently (no batch norm in training mode).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

SigmaOperator = Callable[[torch.Tensor], torch.Tensor]


def identity_sigma(g: torch.Tensor) -> torch.Tensor:
    """Σ = I (gradient-norm regularization, GN): (B,C,H,W) -> (B,C,H,W), returns g itself."""
    return g


def _input_leaf(x: torch.Tensor) -> torch.Tensor:
    return x if x.requires_grad else x.detach().requires_grad_(True)


def loss_and_input_grad(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                        create_graph: bool, return_logits: bool = False):
    """Per-sample cross-entropy ℓ(x, y) = −log p(y|x) and its input gradient g = ∇ₓℓ.

    x: (B,C,H,W) pixels; y: (B,) int64. Returns (loss (B,), g (B,C,H,W)).
    create_graph=True keeps the graph of g (double backprop), so penalties built from g are
    differentiable w.r.t. the model parameters, and the returned loss keeps its graph too.
    create_graph=False returns both detached. ``return_logits=True`` appends the logits (detached)
    so callers need no second forward pass.
    """
    xg = _input_leaf(x)
    logits = model(xg)
    loss = F.cross_entropy(logits, y, reduction="none")
    (g,) = torch.autograd.grad(loss.sum(), xg, create_graph=create_graph)
    if not create_graph:
        loss, g = loss.detach(), g.detach()
    return (loss, g, logits.detach()) if return_logits else (loss, g)


def sgr_penalty(g: torch.Tensor, apply_sigma: SigmaOperator = identity_sigma) -> torch.Tensor:
    """SGR penalty ½ gᵀΣg per sample (Eq. 11); with ``identity_sigma`` it is GN's ½‖g‖².

    g: (B,C,H,W) input gradients of the loss; apply_sigma: (B,C,H,W) -> (B,C,H,W), g ↦ Σg.
    Returns (B,). Since g = −∇log p_y, the sign of g does not matter here.
    """
    return 0.5 * (g * apply_sigma(g)).flatten(1).sum(1)


def gn_penalty(g: torch.Tensor) -> torch.Tensor:
    """GN penalty ½‖g‖² per sample: exactly ``sgr_penalty(g, identity_sigma)`` (same code path)."""
    return sgr_penalty(g, identity_sigma)


def uncentered_term(g: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """First-order term of Eq. 12 for noise with mean μ: gᵀμ per sample, shape (B,).

    From E[ℓ(x+ξ)] = ℓ + ∇ℓᵀE[ξ] + …, and ∇ℓ = g = −∇log p_y, this is +gᵀμ, i.e. the paper's
    −∇log φ_yᵀμ. g: (B,C,H,W); mu: broadcastable to g, e.g. (C,H,W) or (B,C,H,W).
    """
    return (g * mu).flatten(1).sum(1)


def sgr_objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lam: float,
                  apply_sigma: SigmaOperator = identity_sigma,
                  mu: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch SGR objective of Eq. 11 (+ Eq. 12 if μ is given): mean_b[ℓ_b + λ Ω_b].

    Ω_b = ½ g_bᵀΣg_b (+ g_bᵀμ). Returns (objective scalar, loss (B,), Ω (B,)), all with graph,
    so ``objective.backward()`` does the double backprop of Algorithm 1.
    """
    loss, g = loss_and_input_grad(model, x, y, create_graph=True)
    omega = sgr_penalty(g, apply_sigma)
    if mu is not None:
        omega = omega + uncentered_term(g, mu)
    return (loss + lam * omega).mean(), loss, omega


def logit_jacobian(model: nn.Module, x: torch.Tensor,
                   create_graph: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits φ (B,K) and their input Jacobian J[b,k] = ∇ₓφ_k(x_b), shape (B,K,C,H,W).

    K backward passes (one per class); per-sample exact for sample-independent models.
    """
    xg = _input_leaf(x)
    logits = model(xg)
    rows = []
    for k in range(logits.shape[1]):
        (jk,) = torch.autograd.grad(logits[:, k].sum(), xg, retain_graph=True,
                                    create_graph=create_graph)
        rows.append(jk)
    jac = torch.stack(rows, dim=1)
    if not create_graph:
        logits, jac = logits.detach(), jac.detach()
    return logits, jac


def logit_form_grad(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                    create_graph: bool = False) -> torch.Tensor:
    """g = ∇ₓℓ from the logit Jacobian (Eqs. 17–18): g = −(∇φ_y − ⟨∇φ⟩), ⟨∇φ⟩ = Σ_k p_k ∇φ_k.

    x: (B,C,H,W), y: (B,). Returns (B,C,H,W); equals ``loss_and_input_grad``'s g.
    """
    logits, jac = logit_jacobian(model, x, create_graph=create_graph)
    p = torch.softmax(logits, dim=1)                              # (B,K)
    mean_grad = torch.einsum("bk,bk...->b...", p, jac)            # ⟨∇φ⟩, Eq. 18
    grad_y = jac[torch.arange(jac.shape[0], device=jac.device), y]  # ∇φ_y
    return -(grad_y - mean_grad)                                  # −∇log p_y, Eq. 17


def logit_form_penalty(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                       apply_sigma: SigmaOperator = identity_sigma,
                       create_graph: bool = False) -> torch.Tensor:
    """Eq. 13/19: ½ (∇φ_y − ⟨∇φ⟩)ᵀ Σ (∇φ_y − ⟨∇φ⟩) per sample, shape (B,), true label y.

    Same value as ``sgr_penalty(loss_and_input_grad(...)[1], apply_sigma)``; for a linear
    model φ = Wx + b it is Eq. 20, ½ (w_y − ⟨w⟩)ᵀ Σ (w_y − ⟨w⟩) with ⟨w⟩ = Σ_k p_k w_k.
    """
    return sgr_penalty(logit_form_grad(model, x, y, create_graph=create_graph), apply_sigma)
