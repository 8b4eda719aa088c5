"""SGR / GN penalties checked against the expansion they come from (SGR paper Eqs. 4–13, 17–20).

What identity actually holds (ℓ = −log p_y, g = ∇ℓ, H_ℓ = ∇²ℓ, ξ with E ξ = 0, E ξξᵀ = Σ):

    E[ℓ(x+σξ)] − ℓ(x) = ½σ² Tr(H_ℓ Σ) + O(σ⁴)               (Eq. 5; odd terms vanish)
    ½ Tr(H_ℓ Σ)        = ½ gᵀΣg − ½ Tr(∇²p_y Σ)/p_y         (Eq. 6, exact)
    Σ_y p_y ∇²p_y/p_y = ∇² Σ_y p_y = 0                       (Eq. 9, exact)

So the SGR penalty ½gᵀΣg (Eq. 11) is the second-order noise cost for a fixed label only after the
paper's neglect of Tr(∇²p_y Σ)/p_y, which is exact on average over y ~ p(y|x). The tests check
(a) Monte Carlo vs ½σ²Tr(H_ℓΣ) for a fixed label, (b) the exact decomposition, and (c) Monte Carlo
averaged over the model's own label distribution vs the label-averaged SGR penalty.

Monte Carlo design: N ≥ d standard-normal draws are whitened so that their sample second moment
is exactly I, then used in antithetic pairs ±ξ and reused at every σ (common random numbers). The
sample mean is then exactly 0 and the sample second moment exactly Σ, so the estimator has no
O(σ²) sampling error: what is left is the O(σ⁴) Taylor remainder, and the relative error must fall
~4× each time σ halves. Everything is float64 on a smooth (tanh) MLP, so Taylor's theorem applies.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advreg.nn.layers import PerImageStandardize
from advreg.nn.models import build_model
from advreg.sgr.covariance import (RunningCovariance, apply_covariance_function, apply_matrix,
                                   covariance_function_to_matrix)
from advreg.sgr.lrc_noise import lrc_covariance_function
from advreg.sgr.regularizers import (gn_penalty, identity_sigma, logit_form_grad, logit_form_penalty, logit_jacobian,
                                     loss_and_input_grad, sgr_objective, sgr_penalty, uncentered_term)

DT = torch.float64
C, H, W = 2, 4, 4
D = C * H * W
K = 5
SIGMAS = (0.02, 0.01, 0.005)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = nn.Sequential(PerImageStandardize(), nn.Flatten(), nn.Linear(D, 24), nn.Tanh(),
                          nn.Linear(24, K)).to(DT)
    x = 0.2 + 0.6 * torch.rand(3, C, H, W, dtype=DT)
    y = torch.tensor([0, 3, 1])
    # moment-matched standard normal draws: (1/N) Σ z zᵀ = I exactly
    n = 2 * D
    z = torch.randn(n, D, dtype=DT)
    evals, evecs = torch.linalg.eigh(z.T @ z / n)
    z = z @ (evecs @ torch.diag(evals.rsqrt()) @ evecs.T)
    kernel = lrc_covariance_function(C, H, W, zeta=2.0, dtype=DT)
    sigmas = {"isotropic": 0.7 * torch.eye(D, dtype=DT),
              "lrc": covariance_function_to_matrix(kernel, H, W)}
    return model, x, y, z, sigmas


def _antithetic_excess(model, x1, xi, sigma):
    """(1/2N) Σ_n [ℓ_k(x+σξ_n) + ℓ_k(x−σξ_n)] − ℓ_k(x) for every class k: shape (K,)."""
    flat = x1.flatten()
    xp = torch.cat([flat + sigma * xi, flat - sigma * xi]).view(-1, C, H, W)
    with torch.no_grad():
        return -torch.log_softmax(model(xp), 1).mean(0) + torch.log_softmax(model(x1[None]), 1)[0]


def _hessian(fn, x1):
    return torch.autograd.functional.hessian(lambda v: fn(v.view(1, C, H, W)), x1.flatten())


@pytest.mark.parametrize("kind", ["isotropic", "lrc"])
def test_mc_second_order_equals_half_trace_hessian(setup, kind):
    """(a) Fixed label: E[ℓ(x+σξ)] − ℓ(x) = ½σ² Tr(H_ℓ Σ) + O(σ⁴), ξ ~ N(0, Σ)."""
    model, x, y, z, sigmas = setup
    sig = sigmas[kind]
    xi = z @ torch.linalg.cholesky(sig).T
    errs = []
    for b in range(x.shape[0]):
        hl = _hessian(lambda v: F.cross_entropy(model(v), y[b:b + 1]), x[b])
        exact = 0.5 * torch.trace(hl @ sig)
        _, g = loss_and_input_grad(model, x[b:b + 1], y[b:b + 1], create_graph=False)
        scale = exact.abs() + sgr_penalty(g, lambda u: apply_matrix(sig, u))[0]
        errs.append([float((_antithetic_excess(model, x[b], xi, s)[y[b]] / s**2 - exact).abs() / scale)
                     for s in SIGMAS])
    errs = torch.tensor(errs).max(0).values
    assert errs[-1] < 2e-3, errs
    assert errs[0] / errs[1] > 2.5 and errs[1] / errs[2] > 2.5, errs  # O(σ²) relative error


def test_hessian_decomposition_exact(setup):
    """(b) ½Tr(H_ℓΣ) = ½gᵀΣg − ½Tr(∇²p_y Σ)/p_y exactly (Eq. 6), and the neglected term is not small
    for a fixed label on this random net, so (a) really differs from the SGR penalty."""
    model, x, y, _, sigmas = setup
    sig = sigmas["lrc"]
    neglected_rel = []
    for b in range(x.shape[0]):
        yb = y[b:b + 1]
        hl = _hessian(lambda v: F.cross_entropy(model(v), yb), x[b])
        hp = _hessian(lambda v: torch.softmax(model(v), 1)[0, yb[0]], x[b])
        p_y = torch.softmax(model(x[b:b + 1]), 1)[0, y[b]].detach()
        _, g = loss_and_input_grad(model, x[b:b + 1], yb, create_graph=False)
        pen = sgr_penalty(g, lambda u: apply_matrix(sig, u))[0]
        neglected = 0.5 * torch.trace(hp @ sig) / p_y
        lhs = 0.5 * torch.trace(hl @ sig)
        torch.testing.assert_close(lhs, pen - neglected, rtol=1e-10, atol=1e-12)
        neglected_rel.append(float(neglected.abs() / pen))
    assert max(neglected_rel) > 0.1


@pytest.mark.parametrize("kind", ["isotropic", "lrc"])
def test_label_averaged_mc_equals_sgr_penalty(setup, kind):
    """(c) Averaged over y ~ p(y|x) the neglected term vanishes (Eq. 9), so
    Σ_y p_y (E[ℓ_y(x+σξ)] − ℓ_y(x)) = σ² Σ_y p_y · ½g_yᵀΣg_y + O(σ⁴): the MC noise cost converges to
    the SGR penalty itself, with O(σ²) relative error. Also checks the exact trace identity."""
    model, x, _, z, sigmas = setup
    sig = sigmas[kind]
    xi = z @ torch.linalg.cholesky(sig).T
    p = torch.softmax(model(x), 1).detach()
    errs = []
    for b in range(x.shape[0]):
        xb = x[b:b + 1]
        pens, traces = [], []
        for k in range(K):
            yk = torch.tensor([k])
            _, g = loss_and_input_grad(model, xb, yk, create_graph=False)
            pens.append(sgr_penalty(g, lambda u: apply_matrix(sig, u))[0])
            traces.append(0.5 * torch.trace(_hessian(lambda v: F.cross_entropy(model(v), yk), x[b]) @ sig))
        ey_pen = (p[b] * torch.stack(pens)).sum()
        torch.testing.assert_close((p[b] * torch.stack(traces)).sum(), ey_pen, rtol=1e-10, atol=1e-12)
        errs.append([float(((p[b] * _antithetic_excess(model, x[b], xi, s)).sum() / s**2 - ey_pen).abs()
                           / ey_pen) for s in SIGMAS])
    errs = torch.tensor(errs).max(0).values
    assert errs[-1] < 2e-3, errs
    assert errs[0] / errs[1] > 3.0 and errs[1] / errs[2] > 3.0, errs


def test_uncentered_first_order_term(setup):
    """Eq. 12: for ξ = σ(μ + ζ), E ζ = 0, the expansion is
    E[ℓ(x+ξ)] − ℓ = σ·gᵀμ + ½σ² Tr(H_ℓ Σ_raw) + O(σ³), Σ_raw = Cov(ζ) + μμᵀ (raw second moments).
    So [MC − ½σ²Tr(H_ℓΣ_raw)]/σ → uncentered_term(g, μ) = +gᵀμ with O(σ²) error (sign and constant)."""
    model, x, y, z, sigmas = setup
    torch.manual_seed(1)
    mu = 0.5 * torch.randn(C, H, W, dtype=DT)
    cov = sigmas["lrc"]
    zeta = z @ torch.linalg.cholesky(cov).T
    sig_raw = cov + torch.outer(mu.flatten(), mu.flatten())
    _, g = loss_and_input_grad(model, x, y, create_graph=False)
    first = uncentered_term(g, mu)
    torch.testing.assert_close(first, (g * mu).flatten(1).sum(1))
    errs = []
    for b in range(x.shape[0]):
        hl = _hessian(lambda v: F.cross_entropy(model(v), y[b:b + 1]), x[b])
        second = 0.5 * torch.trace(hl @ sig_raw)
        row = []
        for s in SIGMAS:
            pts = torch.cat([mu.flatten() + zeta, mu.flatten() - zeta])  # mean μ, centred cov = cov
            xp = (x[b].flatten() + s * pts).view(-1, C, H, W)
            with torch.no_grad():
                excess = F.cross_entropy(model(xp), y[b].expand(len(xp)), reduction="none").mean() \
                    - F.cross_entropy(model(x[b:b + 1]), y[b:b + 1])
            row.append(float(((excess - s**2 * second) / s - first[b]).abs() / first.abs().max()))
        errs.append(row)
    errs = torch.tensor(errs).max(0).values
    assert errs[-1] < 1e-3, errs
    assert errs[0] / errs[1] > 2.5 and errs[1] / errs[2] > 2.5, errs


def test_gn_is_sgr_with_identity(setup):
    model, x, y, _, _ = setup
    _, g = loss_and_input_grad(model, x, y, create_graph=False)
    half_sq = 0.5 * g.pow(2).flatten(1).sum(1)
    torch.testing.assert_close(gn_penalty(g), half_sq)
    torch.testing.assert_close(sgr_penalty(g, identity_sigma), half_sq)
    torch.testing.assert_close(sgr_penalty(g), half_sq)
    rc = RunningCovariance("identity", C, H, W, dtype=DT)
    torch.testing.assert_close(sgr_penalty(g, rc.apply), half_sq)
    torch.testing.assert_close(sgr_penalty(g, lambda u: apply_matrix(torch.eye(D, dtype=DT), u)), half_sq)


@pytest.mark.parametrize("channels,size", [(1, 16), (3, 18)])
def test_logit_form_equals_loss_gradient_form(channels, size):
    """Eq. 17: ∇ℓ = −(∇φ_y − Σ_k p_k∇φ_k) on a random CW CNN; Eq. 13/19 penalty = SGR penalty."""
    torch.manual_seed(2)
    model = build_model("cw", channels, size, [4, 4, 8, 8, 16, 16]).to(DT)
    x = torch.rand(3, channels, size, size, dtype=DT)
    y = torch.tensor([1, 7, 4])
    loss, g = loss_and_input_grad(model, x, y, create_graph=False)
    torch.testing.assert_close(loss, F.cross_entropy(model(x), y, reduction="none").detach())
    g_logit = logit_form_grad(model, x, y)
    assert g.abs().max() > 0
    torch.testing.assert_close(g_logit, g, rtol=1e-10, atol=1e-13)
    kernel = lrc_covariance_function(channels, size, size, zeta=3.0, dtype=DT)
    apply = lambda u: apply_covariance_function(kernel, u)  # noqa: E731
    torch.testing.assert_close(logit_form_penalty(model, x, y, apply), sgr_penalty(g, apply),
                               rtol=1e-10, atol=1e-14)


def test_linear_model_variance_form():
    """Eq. 20: for φ = Wx + b, Ω = ½(w_y − ⟨w⟩)ᵀΣ(w_y − ⟨w⟩), ⟨w⟩ = Σ_k p_k w_k; averaged over
    y ~ p it is ½Σ_y p_y ‖w_y − ⟨w⟩‖²_Σ, the p-weighted variance of the class weight vectors."""
    torch.manual_seed(3)
    lin = nn.Linear(D, K).to(DT)
    model = nn.Sequential(nn.Flatten(), lin)
    x = torch.rand(4, C, H, W, dtype=DT)
    y = torch.tensor([0, 1, 2, 4])
    sig = covariance_function_to_matrix(lrc_covariance_function(C, H, W, 1.5, dtype=DT), H, W)
    apply = lambda u: apply_matrix(sig, u)  # noqa: E731
    wmat = lin.weight.detach()                                   # (K, D)
    p = torch.softmax(model(x), 1).detach()                      # (B, K)
    centred = wmat[None] - (p @ wmat)[:, None]                   # w_k − ⟨w⟩, (B, K, D)
    quad = 0.5 * torch.einsum("bkd,de,bke->bk", centred, sig, centred)
    pen = logit_form_penalty(model, x, y, apply)
    torch.testing.assert_close(pen, quad[torch.arange(4), y], rtol=1e-12, atol=1e-14)
    _, g = loss_and_input_grad(model, x, y, create_graph=False)
    torch.testing.assert_close(sgr_penalty(g, apply), pen, rtol=1e-12, atol=1e-14)
    ey = sum(p[:, k] * logit_form_penalty(model, x, torch.full((4,), k), apply) for k in range(K))
    torch.testing.assert_close(ey, (p * quad).sum(1), rtol=1e-12, atol=1e-14)
    _, jac = logit_jacobian(model, x)
    torch.testing.assert_close(jac.flatten(2), wmat.expand(4, K, D))


def test_penalty_is_differentiable_wrt_parameters(setup):
    """Double backprop: ∇_θ Σ_b Ω_b · v equals a central finite difference along a random v."""
    model, x, y, _, sigmas = setup
    sig = sigmas["lrc"]
    apply = lambda u: apply_matrix(sig, u)  # noqa: E731
    params = list(model.parameters())

    def total():
        _, g = loss_and_input_grad(model, x, y, create_graph=True)
        return sgr_penalty(g, apply).sum()

    grads = torch.autograd.grad(total(), params)
    torch.manual_seed(4)
    vs = [torch.randn_like(p) for p in params]
    analytic = sum((gr * v).sum() for gr, v in zip(grads, vs))
    h = 1e-5
    with torch.no_grad():
        for p, v in zip(params, vs):
            p.add_(h * v)
    plus = total().detach()
    with torch.no_grad():
        for p, v in zip(params, vs):
            p.sub_(2 * h * v)
    minus = total().detach()
    with torch.no_grad():
        for p, v in zip(params, vs):
            p.add_(h * v)
    torch.testing.assert_close(analytic, (plus - minus) / (2 * h), rtol=1e-6, atol=1e-9)

    _, g_nograd = loss_and_input_grad(model, x, y, create_graph=False)
    assert not g_nograd.requires_grad


def test_sgr_objective(setup):
    model, x, y, _, sigmas = setup
    sig = sigmas["lrc"]
    apply = lambda u: apply_matrix(sig, u)  # noqa: E731
    mu = torch.full((C, H, W), 0.01, dtype=DT)
    obj, loss, omega = sgr_objective(model, x, y, 0.3, apply, mu=mu)
    _, g = loss_and_input_grad(model, x, y, create_graph=False)
    torch.testing.assert_close(omega.detach(), sgr_penalty(g, apply) + uncentered_term(g, mu))
    torch.testing.assert_close(obj, (loss + 0.3 * omega).mean())
    obj.backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=True)
