"""Every training method against its equation: one batch's parameter gradient from the method equals
the gradient of the objective written out independently here (issue 14).

Each objective below is built from the papers' equations with plain autograd, not from
``advreg.training.methods``/``advreg.attacks.whitebox``: the perturbations are recomputed in the test, Σ̂ is built in
the test, and hyperparameters take values where a swap shows (mix 0.3, λ 0.7). So a penalty computed
on a detached gradient, ε not divided by 255, ``mix`` swapped with ``1 − mix``, or a PGM step other
than 2ε/steps each changes the gradient and fails here. Synthetic 1×6×6 images and a small smooth
network: no data mirror needed.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from advreg.sgr.lrc_noise import LRCSampler
from advreg.training.methods import MethodContext, build_method

SHAPE = (1, 6, 6)
D = 36
MEAN_DIAG = 0.07   # the data's mean per-pixel variance (standardization target of every Σ̂)
MEAN_NORM = 2.5    # E‖X‖₂ (the SN schemes' ε and γ scale)
LAM, MIX = 0.7, 0.3


def _model():
    torch.manual_seed(0)
    # smooth (softplus) so that double backprop has a non-trivial second derivative
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(D, 16), torch.nn.Softplus(),
                               torch.nn.Linear(16, 10))


def _batch(n=12):
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, *SHAPE, generator=g), torch.randint(0, 10, (n,), generator=g)


def _ctx(seed=5):
    return MethodContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(seed),
                         image_shape=SHAPE, data_mean_diag=MEAN_DIAG, data_mean_norm=MEAN_NORM)


def _grads(model, loss):
    params = [p for p in model.parameters()]
    return torch.autograd.grad(loss, params)


def _method_grads(name, cfg, x, y, ctx=None):
    model = _model()
    m = build_method(name, cfg, ctx or _ctx())
    loss, _ = m.loss(model, x, y)
    return _grads(model, loss), m, model


def _assert_same(got, want):
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=2e-4, atol=1e-6)


# ----------------------------------------------------------------------------- helpers of the test

def _pred(model, x):
    with torch.no_grad():
        return model(x).argmax(1)


def _input_grad(model, x, y, scale=1.0):
    """∇ₓ of scale·Σ_i CE_i (each sample's own gradient)."""
    xr = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(scale * F.cross_entropy(model(xr), y, reduction="sum"), xr)
    return g


def _linf_pgd(model, x, labels, eps, alpha, steps, start=None):
    """x ← Π_{B∞(x, ε) ∩ [0,1]}(x + α·sign ∇ℓ), ``steps`` times, from ``start`` (default x)."""
    adv = x.clone() if start is None else start
    for _ in range(steps):
        adv = adv + alpha * _input_grad(model, adv, labels).sign()
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
    return adv


def _l2_unit(g):
    """g/‖g‖₂ per sample."""
    return g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)


def _mixture(model, x, y, x_t, mix):
    """SGR paper Eq. 3: (1 − mix)·ℓ(x) + mix·ℓ(x̃)."""
    return (1 - mix) * F.cross_entropy(model(x), y) + mix * F.cross_entropy(model(x_t), y)


def _sgr_objective(model, x, y, sigma, lam):
    """Eq. 11: mean over the batch of ℓ + λ·½ gᵀΣg, g = ∇ₓℓ differentiated through (double backprop)."""
    xr = x.detach().clone().requires_grad_(True)
    ce = F.cross_entropy(model(xr), y, reduction="none")
    (g,) = torch.autograd.grad(ce.sum(), xr, create_graph=True)
    gf = g.flatten(1)
    pen = 0.5 * ((gf @ sigma) * gf).sum(1)
    return (ce + lam * pen).mean()


def _standardized(s):
    """Σ̂ = S·target/mean diag(S) (the paper's λ is a noise-to-signal ratio)."""
    return s * MEAN_DIAG / s.diagonal().mean()


def _second_moment(xi):
    f = xi.flatten(1)
    return f.T @ f / f.shape[0]  # Eq. 15: (1/B) Σ ξξᵀ


def _covariance_function_matrix(xi):
    """Eq. 16 written out as a d×d matrix: Σ_ij = C(p_j − p_i), C(Δ) the mean of ξ_a ξ_{a+Δ} over
    samples and in-image pixel pairs with displacement Δ."""
    _, _, H, W = xi.shape
    v = xi[:, 0]
    C = {}
    for dr in range(-(H - 1), H):
        for dc in range(-(W - 1), W):
            a = v[:, max(0, -dr):H - max(0, dr), max(0, -dc):W - max(0, dc)]
            b = v[:, max(0, dr):H - max(0, -dr), max(0, dc):W - max(0, -dc)]
            C[dr, dc] = (a * b).mean()
    pos = [(r, c) for r in range(H) for c in range(W)]
    return torch.stack([torch.stack([C[rj - ri, cj - ci] for (rj, cj) in pos]) for (ri, ci) in pos])


# ----------------------------------------------------------------------------- the methods

def test_clean_is_cross_entropy():
    x, y = _batch()
    got, _, _ = _method_grads("clean", {}, x, y)
    model = _model()
    _assert_same(got, _grads(model, F.cross_entropy(model(x), y)))


def test_weight_decay_is_half_c_sum_of_squared_weights_only():
    x, y = _batch()
    c = 0.37
    got, _, _ = _method_grads("wdecay", {"weight_decay": c}, x, y)
    model = _model()
    l2 = sum((p ** 2).sum() for n, p in model.named_parameters() if n.endswith("weight"))
    want = _grads(model, F.cross_entropy(model(x), y) + 0.5 * c * l2)
    _assert_same(got, want)
    # biases carry no penalty: their gradient is the cross-entropy's alone
    model = _model()
    ce_only = _grads(model, F.cross_entropy(model(x), y))
    for (n, _), a, b in zip(model.named_parameters(), got, ce_only):
        if n.endswith("bias"):
            torch.testing.assert_close(a, b)


def test_fgsm_augmentation_mixture_and_eps_in_1_over_255():
    x, y = _batch()
    eps_255 = 8
    got, m, _ = _method_grads("fgsm", {"mix": MIX, "eps_255": eps_255}, x, y)
    model = _model()
    eps = eps_255 / 255
    x_adv = (x + eps * _input_grad(model, x, _pred(model, x)).sign()).clamp(0, 1)
    _assert_same(got, _grads(model, _mixture(model, x, y, x_adv, MIX)))
    # the method's own perturbation: ‖x̃ − x‖∞ = ε exactly where the clip to [0, 1] does not bind
    x_m = m.perturb(_model(), x, y)
    free = (x + eps <= 1) & (x - eps >= 0)
    torch.testing.assert_close((x_m - x).abs()[free], torch.full_like(x[free], eps), rtol=0, atol=1e-6)


def test_pgd_augmentation_steps_and_projection():
    x, y = _batch()
    cfg = {"mix": MIX, "eps_255": 16, "steps": 3, "step_size_255": 7, "random_start": False}
    got, m, _ = _method_grads("pgd", cfg, x, y)
    model = _model()
    eps, alpha = 16 / 255, 7 / 255
    adv = _linf_pgd(model, x, _pred(model, x), eps, alpha, 3)
    _assert_same(got, _grads(model, _mixture(model, x, y, adv, MIX)))
    x_m = m.perturb(_model(), x, y)
    assert (x_m - x).abs().max() <= eps + 1e-6
    saturated = ((x_m - x).abs() > eps - 1e-6).float().mean()
    assert saturated > 0.5  # 3 steps of 7/255 ≥ 16/255: most pixels end on the ε-box


def test_pgd_augmentation_random_start_uses_the_training_generator():
    x, y = _batch()
    cfg = {"mix": MIX, "eps_255": 16, "steps": 1, "step_size_255": 4, "random_start": True}
    got, _, _ = _method_grads("pgd", cfg, x, y, ctx=_ctx(seed=11))
    model = _model()
    eps = 16 / 255
    start = (x + (torch.rand(x.shape, generator=torch.Generator().manual_seed(11)) * 2 - 1) * eps).clamp(0, 1)
    adv = _linf_pgd(model, x, _pred(model, x), eps, 4 / 255, 1, start=start)
    _assert_same(got, _grads(model, _mixture(model, x, y, adv, MIX)))


def test_lrc_augmentation_mixture():
    x, y = _batch()
    cfg = {"mix": MIX, "zeta": 2.0, "eps": 0.2, "inter_channel": 0.5}
    got, _, _ = _method_grads("lrc", cfg, x, y, ctx=_ctx(seed=3))
    model = _model()
    xi = LRCSampler(1, 6, 6, 2.0, inter_channel=0.5).sample(len(x), generator=torch.Generator().manual_seed(3))
    x_t = (x + 0.2 * xi).clamp(0, 1)  # Sec. 4.3: x̃ = clip(x + ε·ξ)
    _assert_same(got, _grads(model, _mixture(model, x, y, x_t, MIX)))


def test_gn_is_ce_plus_lambda_half_scaled_gradient_norm():
    x, y = _batch()
    got, _, _ = _method_grads("gn", {"lam": LAM}, x, y)
    model = _model()
    _assert_same(got, _grads(model, _sgr_objective(model, x, y, MEAN_DIAG * torch.eye(D), LAM)))


@pytest.mark.parametrize("source", ["grad", "sign", "fgsm", "pgd"])
@pytest.mark.parametrize("representation", ["full", "function"])
def test_sgr_is_ce_plus_lambda_half_gT_sigma_g(source, representation):
    """Eq. 11 with Σ̂ from the batch's perturbations (Eq. 14 with the first update's weight 1;
    Eq. 15 full matrix or Eq. 16 covariance function), standardized to the data's mean diagonal."""
    x, y = _batch()
    cfg = {"kind": "sgr", "lam": LAM, "source": source, "representation": representation,
           "decay": 0.1, "update_every": 1}
    if source in ("fgsm", "pgd"):
        cfg["eps_255"] = 12
    if source == "pgd":
        cfg.update(steps=2, step_size_255=8, random_start=False)
    got, _, _ = _method_grads("sgr_x", cfg, x, y)
    model = _model()
    g = _input_grad(model, x, y)  # ∇ₓℓ with the true labels (the regularized loss's own gradient)
    yp = _pred(model, x)
    if source == "grad":
        xi = g
    elif source == "sign":
        xi = g.sign()
    elif source == "fgsm":
        xi = (x + 12 / 255 * _input_grad(model, x, yp).sign()).clamp(0, 1) - x
    else:
        xi = _linf_pgd(model, x, yp, 12 / 255, 8 / 255, 2) - x
    s = _second_moment(xi) if representation == "full" else _covariance_function_matrix(xi)
    _assert_same(got, _grads(model, _sgr_objective(model, x, y, _standardized(s), LAM)))


def test_fgm_training_is_ce_on_l2_step_of_eps_rel_times_mean_norm():
    x, y = _batch()
    got, _, _ = _method_grads("fgm", {"eps_rel": 0.05}, x, y)
    model = _model()
    eps = 0.05 * MEAN_NORM
    g = _input_grad(model, x, _pred(model, x))
    x_adv = x + eps * _l2_unit(g)  # no clip (SN repo)
    _assert_same(got, _grads(model, F.cross_entropy(model(x_adv), y)))  # adversarial loss only


def test_pgm_training_takes_steps_of_two_eps_over_steps():
    x, y = _batch()
    k = 4
    got, _, _ = _method_grads("pgm", {"eps_rel": 0.05, "steps": k}, x, y)
    model = _model()
    eps = 0.05 * MEAN_NORM
    alpha = 2 * eps / k  # SN paper: k steps of 2ε/k, no random start
    yp = _pred(model, x)
    adv = x.clone()
    for _ in range(k):
        g = _input_grad(model, adv, yp)
        adv = adv + alpha * _l2_unit(g)
        d = adv - x
        n = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        adv = x + d * torch.clamp(eps / n, max=1.0)  # projection onto the ℓ2 ball
    _assert_same(got, _grads(model, F.cross_entropy(model(adv), y)))


def test_wrm_training_ascends_loss_minus_gamma_transport_cost():
    x, y = _batch()
    k = 3
    got, _, _ = _method_grads("wrm", {"gamma_rel": 0.04, "steps": k}, x, y)
    model = _model()
    gamma = 0.04 * MEAN_NORM
    w = 1 / (2 * gamma)  # ascent on w·[ℓ(x') − γ‖x' − x‖²] = w·ℓ(x') − ½‖x' − x‖²
    yp = _pred(model, x)
    adv = x + _input_grad(model, x, yp, scale=w)
    for t in range(k):
        adv = adv + (_input_grad(model, adv, yp, scale=w) - (adv - x)) / math.sqrt(t + 2)
    _assert_same(got, _grads(model, F.cross_entropy(model(adv), y)))
