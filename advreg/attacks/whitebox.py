"""Adversarial attacks of the SGR paper (CleverHans v2 conventions) and the SN paper (FGM/PGM/WRM).

Conventions shared by every attack here:

- Inputs ``x`` live in pixel space ([0, 1] for images); ε is in the same units. (The SGR paper
  states ε in units of 1/255; the pipeline converts before calling.)
- Untargeted. When ``y`` is None the label is the model's *predicted* label on the clean input
  (CleverHans / SN-repo default, avoids label leaking), read from the attack's first gradient
  forward at x where there is one (see ``_loss_grad``). Run a spectrally normalized model in eval
  mode: in train mode each forward moves its power iterate, so that forward is not a separate
  prediction's twin (every caller in this project attacks in eval mode).
- Outputs are clipped to ``clip=(lo, hi)``; ``clip=None`` disables clipping (the SN repo never
  clips).
- Gradients are taken w.r.t. the input only (``torch.autograd.grad``), so ``.grad`` of the model's
  parameters is never touched; the model's train/eval mode is left as it is.
- Losses are *summed* over the batch (CleverHans ``mean=False``, SN repo ``mean=False``), so each
  sample's gradient is independent of the batch it sits in.
- Everything runs on the device of ``x`` (and the model must live there too). The set-level
  helpers (``run_attack``, ``accuracy``, ``predicted_labels``) move batches to the model's device
  and return results on the device of ``x``.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from advreg.attacks import kinds as attack_kinds
from advreg.nn.predict import batches, model_device

# ----------------------------------------------------------------------------- helpers

def _bview(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-sample scalars (B,) viewed to broadcast against (B, ...)."""
    return v.view(-1, *([1] * (like.dim() - 1)))


def _l2_normalize(g: torch.Tensor) -> torch.Tensor:
    """g / ‖g‖₂ per sample; zero where g is zero.

    Scales by the per-sample max |g| first so tiny gradients (confident predictions, summed loss)
    neither underflow in the squared norm nor get truncated by an additive ε.
    """
    flat = g.flatten(1)
    amax = flat.abs().amax(1)
    safe = torch.where(amax > 0, amax, torch.ones_like(amax))
    u = flat / safe[:, None]
    n = u.norm(dim=1)
    n = torch.where(n > 0, n, torch.ones_like(n))
    return (u / n[:, None]).view_as(g)


def _loss_grad(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None,
               scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """∇ₓ (scale · Σ_i CE(model(x)_i, y_i)), w.r.t. the input only, and the labels it used.

    ``y=None``: the model's predicted labels at x, read from this same forward. They are constants
    of the loss (argmax of detached logits), so this equals a separate no-grad forward for the
    labels followed by this one, minus that forward (a training step of FGSM/FGM adversarial
    training does one forward fewer in four). Bitwise equal whenever two forwards of the same
    input give the same logits: every attack here runs the model in eval mode, where the
    spectral-norm iterate is frozen (advreg.nn.spectral), and the nets have no dropout.
    """
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        logits = model(xr)
        if y is None:
            y = logits.detach().argmax(1)
        else:
            y = y.to(x.device)
        loss = F.cross_entropy(logits, y, reduction="sum")
        if scale != 1.0:
            loss = loss * scale
        (g,) = torch.autograd.grad(loss, xr)
    return g, y


def _labels(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    if y is not None:
        return y.to(x.device)
    with torch.no_grad():
        return model(x).argmax(1)


def _clip(x: torch.Tensor, clip) -> torch.Tensor:
    return x if clip is None else x.clamp_(clip[0], clip[1])


def _uniform(shape, like: torch.Tensor, lo: float, hi: float, generator: torch.Generator | None) -> torch.Tensor:
    """U[lo, hi) noise on like's device/dtype; drawn on the generator's device (so a CPU generator
    gives the same numbers whatever the data's device)."""
    dev = generator.device if generator is not None else like.device
    u = torch.rand(shape, generator=generator, device=dev, dtype=like.dtype)
    return u.to(like.device).mul_(hi - lo).add_(lo)


def _normal(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    dev = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, device=dev, dtype=like.dtype).to(like.device)


# ----------------------------------------------------------------------------- attacks

def rand(x: torch.Tensor, eps: float, generator: torch.Generator | None = None, clip=(0.0, 1.0)) -> torch.Tensor:
    """Uniform-noise baseline: x + U[−ε, ε]^d."""
    return _clip(x.detach() + _uniform(x.shape, x, -eps, eps, generator), clip)


def fgsm(model: nn.Module, x: torch.Tensor, eps: float, y: torch.Tensor | None = None, clip=(0.0, 1.0)) -> torch.Tensor:
    """Fast gradient sign method (CleverHans FastGradientMethod, ord=inf): x + ε·sign(∇ₓℓ)."""
    g, _ = _loss_grad(model, x, y)
    return _clip(x.detach().add(g.sign_(), alpha=eps), clip)


def fgm(model: nn.Module, x: torch.Tensor, eps: float, y: torch.Tensor | None = None, clip=(0.0, 1.0)) -> torch.Tensor:
    """Fast gradient method, L2 (CleverHans ord=2 / SN repo ``fgm``): x + ε·g/‖g‖₂ per sample.

    Zero gradients give a zero step.
    """
    g, _ = _loss_grad(model, x, y)
    return _clip(x.detach().add(_l2_normalize(g), alpha=eps), clip)


def pgd(model: nn.Module, x: torch.Tensor, eps: float, steps: int, step_size: float, norm: str = "linf",
        random_start: bool = False, y: torch.Tensor | None = None, clip=(0.0, 1.0),
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Projected gradient descent on the loss (Madry et al.; CleverHans MadryEtAl; SN repo ``pgm``).

    Each step: gradient step (sign for 'linf', g/‖g‖₂ for 'l2') of size ``step_size``, projection
    onto the ε-ball around x, clip to ``clip``. ``random_start``: linf — x + U[−ε, ε]^d (CleverHans,
    torchattacks); l2 — uniform direction with radius ε·U[0,1] (torchattacks PGDL2); then clipped.
    One step of size ε without random start equals ``fgsm`` (linf) / ``fgm`` (l2).
    """
    if norm not in ("linf", "l2"):
        raise ValueError(f"norm must be 'linf' or 'l2', got {norm!r}")
    x = x.detach()
    if random_start:
        y = _labels(model, x, y)  # the prediction at x, not at the random start
        if norm == "linf":
            adv = x + _uniform(x.shape, x, -eps, eps, generator)
        else:
            d = _l2_normalize(_normal(x.shape, x, generator))
            r = _uniform((x.shape[0],), x, 0.0, 1.0, generator)
            adv = x + d * _bview(r * eps, x)
        _clip(adv, clip)
    else:  # the first step is at x: _loss_grad reads the labels from its forward
        adv = x.clone()

    if norm == "linf":
        lo, hi = x - eps, x + eps
        if clip is not None:
            lo.clamp_(min=clip[0])
            hi.clamp_(max=clip[1])
    for _ in range(steps):
        g, y = _loss_grad(model, adv, y)  # its graph is freed: the in-place updates below are safe
        if norm == "linf":
            # step, then projection onto the ε-box ∩ clip range in one clamp
            adv.add_(g.sign_(), alpha=step_size)
            adv.clamp_(min=lo, max=hi)
        else:
            adv.add_(_l2_normalize(g), alpha=step_size)
            delta = adv.sub_(x)  # adv now holds δ
            n = delta.flatten(1).norm(dim=1)
            factor = torch.where(n > eps, eps / n.clamp_min(1e-30), torch.ones_like(n))
            delta.mul_(_bview(factor, delta)).add_(x)  # back to x + projected δ
            _clip(adv, clip)
    return adv.detach()


def wrm(model: nn.Module, x: torch.Tensor, gamma: float, steps: int = 15, y: torch.Tensor | None = None,
        clip=None) -> torch.Tensor:
    """Wasserstein robust method (Sinha et al. 2018) as in the SN authors' ``adversarial.wrm``.

    Gradient ascent on eps_w·ℓ(x') − ½‖x' − x‖² = eps_w·[ℓ(x') − γ‖x' − x‖²], eps_w = 1/(2γ):
    step 0: x' = x + ∇(eps_w·ℓ)(x); then for t = 0..steps−1:
    x' ← x' + (1/√(t+2))·[∇(eps_w·ℓ)(x') − (x' − x)]. ℓ is summed over the batch (per-sample
    objective). No norm constraint. ``clip`` (default None, as the SN repo) projects every iterate
    onto the range.
    """
    if gamma <= 0:
        raise ValueError("gamma must be > 0")
    eps_w = 1.0 / (2.0 * gamma)
    x = x.detach()
    g, y = _loss_grad(model, x, y, scale=eps_w)  # y=None: the prediction at x, from this forward
    adv = _clip(x + g, clip)
    for t in range(steps):
        g, _ = _loss_grad(model, adv, y, scale=eps_w)
        g.sub_(adv - x)
        adv = _clip(adv.add_(g, alpha=1.0 / math.sqrt(t + 2)), clip)
    return adv


def deepfool(model: nn.Module, x: torch.Tensor, overshoot: float = 0.02, max_iter: int = 50,
             nb_candidate: int = 10, clip=(0.0, 1.0), fixed_candidates: bool = False) -> torch.Tensor:
    """Multi-class L2 DeepFool (Moosavi-Dezfooli et al. 2016), batched, following CleverHans'
    ``deepfool_attack``.

    Per iteration and per still-unfooled sample: with f the logits at the current iterate, candidate
    classes c_0 (= the original prediction) … c_{K−1}, w_k = ∇f_{c_k} − ∇f_{c_0},
    f_k = f_{c_k} − f_{c_0}, take the closest linearized boundary l = argmin_k (|f_k| + 1e−5)/‖w_k‖
    and add r_i = (|f_l| + 1e−5)·w_l/‖w_l‖² to r_tot. The iterate is clip(x + r_tot); a sample stops
    once its predicted label changes, or after max_iter iterations. Returns
    clip(x + (1 + overshoot)·r_tot).

    Candidates: CleverHans takes the top-``nb_candidate`` logits *of the current iterate*
    (re-sorted every iteration; the top one is the original label while the sample is active).
    ``fixed_candidates=True`` instead fixes them from the clean logits (the DeepFool authors' code).
    """
    x = x.detach()
    B = x.shape[0]
    with torch.no_grad():
        logits0 = model(x)
    K = min(nb_candidate, logits0.shape[1])
    original = logits0.argmax(1)
    clean_cands = logits0.topk(K, dim=1).indices  # (B, K), column 0 = original
    r_tot = torch.zeros_like(x)
    active = torch.ones(B, dtype=torch.bool, device=x.device)
    adv = x.clone()
    if K < 2:
        return _clip(x.clone(), clip)
    for _ in range(max_iter):
        idx = active.nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        xa = adv[idx]
        with torch.enable_grad():
            xr = xa.requires_grad_(True)
            f = model(xr)
            if fixed_candidates:
                cands = clean_cands[idx]
            else:
                cands = f.detach().topk(K, dim=1).indices
            fc = f.gather(1, cands)  # (b, K)
            diffs = fc[:, 1:] - fc[:, :1]  # (b, K−1): f_k − f_0
            grads = []
            for k in range(K - 1):
                (gk,) = torch.autograd.grad(diffs[:, k].sum(), xr, retain_graph=k < K - 2)
                grads.append(gk.flatten(1))
        w = torch.stack(grads, 1)  # (b, K−1, D)
        fk = diffs.detach().abs() + 1e-5
        wn = w.norm(dim=2)
        pert = fk / wn.clamp_min(1e-30)
        pert = torch.where(wn > 0, pert, torch.full_like(pert, math.inf))
        best = pert.argmin(1)
        ar = torch.arange(idx.numel(), device=x.device)
        pert_b = pert[ar, best]
        w_b = w[ar, best]
        wn_b = wn[ar, best]
        ok = torch.isfinite(pert_b)
        coef = torch.where(ok, pert_b / wn_b.clamp_min(1e-30), torch.zeros_like(pert_b))
        r_tot[idx] += (coef[:, None] * w_b).view_as(xa)
        adv[idx] = _clip(x[idx] + r_tot[idx], clip)
        with torch.no_grad():
            now = model(adv[idx]).argmax(1)
        active[idx] = now == original[idx]
    return _clip(x + (1.0 + overshoot) * r_tot, clip)


def deepfool_rho(x: torch.Tensor, x_adv: torch.Tensor) -> float:
    """ρ_adv (DeepFool paper Eq. 2): mean over samples of ‖x_adv − x‖₂ / ‖x‖₂ (zero-norm x skipped)."""
    r = (x_adv - x).flatten(1).double().norm(dim=1)
    n = x.flatten(1).double().norm(dim=1)
    keep = n > 0
    return (r[keep] / n[keep]).mean().item()


# ------------------------------------------- the functions advreg.attacks.kinds declares per kind

def _run_rand(model, x, eps, generator=None, **p):
    return rand(x, eps, generator=generator, **p)


def _run_fgsm(model, x, eps, generator=None, **p):
    return fgsm(model, x, eps, **p)


def _run_fgm(model, x, eps, generator=None, **p):
    return fgm(model, x, eps, **p)


def _run_pgd(model, x, eps, generator=None, steps=40, step_size=0.01, **p):
    # defaults: CleverHans MadryEtAl nb_iter=40, eps_iter=0.01
    return pgd(model, x, eps, steps=steps, step_size=step_size, generator=generator, **p)


def _run_deepfool(model, x, eps=None, generator=None, **p):
    return deepfool(model, x, **p)


def _run_wrm(model, x, eps=None, generator=None, **p):
    return wrm(model, x, **p)  # params must hold gamma


def run_attack(name: str, model: nn.Module, x: torch.Tensor, eps: float | None, params: dict | None = None,
               batch_size: int | None = None, generator: torch.Generator | None = None,
               progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """Attack a whole set in batches with the kind's function (advreg.attacks.kinds); returns x_adv on x's device.

    Batches are moved to the model's device. Labels are the model's predictions (per batch).
    ``params`` are the attack's keyword arguments (e.g. pgd: steps, step_size, norm, random_start,
    clip). A given ``generator`` is consumed batch after batch, so results are reproducible.
    ``progress(images_done)`` is called after each batch.
    """
    fn = attack_kinds.runner(name)
    params = dict(params or {})
    dev = model_device(model, x.device)
    out = torch.empty_like(x)
    for s in batches(x.shape[0], batch_size):
        out[s] = fn(model, x[s].to(dev), eps, generator=generator, **params).to(x.device)
        if progress is not None:
            progress(s.stop)
    return out
