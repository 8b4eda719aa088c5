"""Covariance estimates (Eqs. 14–16), the Σ·g products, standardization and decay lengths."""
from __future__ import annotations

import io
import math

import pytest
import torch

from advreg.sgr.covariance import (RunningCovariance, apply_covariance_function, apply_matrix, covariance_function,
                                   covariance_function_to_matrix, data_mean_diagonal, decay_length, mean_diagonal,
                                   pair_counts, radial_profile, radialize, second_moment_matrix, standardize)
from advreg.sgr.lrc_noise import lrc_covariance_function

DT = torch.float64


def test_second_moment_matrix_is_mean_outer_product():
    torch.manual_seed(0)
    xi = torch.randn(6, 2, 3, 4, dtype=DT)
    expected = sum(torch.outer(v.flatten(), v.flatten()) for v in xi) / 6
    torch.testing.assert_close(second_moment_matrix(xi), expected)
    # row-major (C,H,W) flattening: entry for (c=1,r=2,s=3) is index (1*3+2)*4+3
    torch.testing.assert_close(second_moment_matrix(xi)[23, 23], xi[:, 1, 2, 3].pow(2).mean())


def test_covariance_function_equals_pair_averaged_full_matrix():
    """K[c,c',Δ] = average of the full second-moment matrix over all in-image pairs (i, i+Δ)."""
    torch.manual_seed(1)
    B, C, H, W = 5, 2, 4, 5
    xi = torch.randn(B, C, H, W, dtype=DT)
    full = second_moment_matrix(xi).view(C, H, W, C, H, W)
    kern = covariance_function(xi, chunk_size=2)  # exercises the chunked batch sum
    assert kern.shape == (C, C, 2 * H - 1, 2 * W - 1)
    expected = torch.zeros_like(kern)
    for dr in range(-(H - 1), H):
        for dc in range(-(W - 1), W):
            vals = [full[:, r, s, :, r + dr, s + dc] for r in range(H) for s in range(W)
                    if 0 <= r + dr < H and 0 <= s + dc < W]
            expected[:, :, H - 1 + dr, W - 1 + dc] = torch.stack(vals).mean(0)
    torch.testing.assert_close(kern, expected, rtol=1e-12, atol=1e-12)
    assert pair_counts(H, W)[H - 1, W - 1] == H * W and pair_counts(H, W)[0, 0] == 1
    # symmetry of Σ: K[c,c',Δ] = K[c',c,−Δ]
    torch.testing.assert_close(kern, kern.transpose(0, 1).flip(-1, -2))


@pytest.mark.parametrize("method", ["fft", "conv"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (2, 5, 7)], ids=["mnist", "cifar", "odd"])
def test_covariance_function_product_equals_full_matrix_product(shape, method):
    C, H, W = shape
    torch.manual_seed(2)
    kern = covariance_function(torch.rand(8, C, H, W, dtype=DT) - 0.5)
    full = covariance_function_to_matrix(kern, H, W)
    assert full.shape == (C * H * W, C * H * W)
    torch.testing.assert_close(full, full.T)
    g = torch.randn(2, C, H, W, dtype=DT)
    torch.testing.assert_close(apply_covariance_function(kern, g, method), apply_matrix(full, g),
                               rtol=1e-10, atol=1e-11)
    # float32 gradients with a float64 kernel: cast, float tolerance
    out32 = apply_covariance_function(kern, g.float(), method)
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), apply_matrix(full, g), rtol=1e-4, atol=1e-4)


def test_mean_diagonal_and_standardize_agree_for_matrix_and_kernel():
    torch.manual_seed(3)
    C, H, W = 3, 5, 6
    kern = covariance_function(torch.randn(4, C, H, W, dtype=DT))
    full = covariance_function_to_matrix(kern, H, W)
    torch.testing.assert_close(mean_diagonal(kern), mean_diagonal(full))
    torch.testing.assert_close(mean_diagonal(kern), kern[[0, 1, 2], [0, 1, 2], H - 1, W - 1].mean())
    torch.testing.assert_close(mean_diagonal(standardize(kern, 0.25)), torch.tensor(0.25, dtype=DT))
    torch.testing.assert_close(standardize(full, 0.25), covariance_function_to_matrix(standardize(kern, 0.25), H, W))
    x = torch.rand(50, C, H, W, dtype=DT)
    assert data_mean_diagonal(x) == pytest.approx(float(x.flatten(1).var(0, unbiased=False).mean()))
    assert data_mean_diagonal(x, centered=False) == pytest.approx(float(x.pow(2).mean()))


def test_running_covariance_full_sign_gradient_one_step():
    """Fed sign(g) once, the 'full' estimate is the batch mean of sign(g)sign(g)ᵀ (Eq. 15),
    whose mean diagonal is 1, so with target 1 the standardized Σ̂ is that same matrix."""
    torch.manual_seed(4)
    C, H, W = 2, 3, 3
    s = torch.sign(torch.randn(7, C, H, W, dtype=DT))
    rc = RunningCovariance("full", C, H, W, target=1.0, weight=0.1, dtype=DT)
    rc.update(s)
    outer = torch.einsum("bi,bj->ij", s.flatten(1), s.flatten(1)) / 7
    torch.testing.assert_close(rc.sigma, outer)
    torch.testing.assert_close(rc.standardized(), outer)
    g = torch.randn(3, C, H, W, dtype=DT)
    torch.testing.assert_close(rc.apply(g), (g.flatten(1) @ outer).view_as(g))
    half = RunningCovariance("full", C, H, W, target=0.5, dtype=DT).update(s)
    torch.testing.assert_close(half(g), 0.5 * rc(g))


@pytest.mark.parametrize("kind", ["full", "function"])
def test_running_covariance_ema_two_steps(kind):
    """Eq. 14 / Algorithm 1: S₂ = (1−β)·Cov₁ + β·Cov₂ with β = 0.1 on the new batch."""
    torch.manual_seed(5)
    C, H, W = 2, 4, 3
    a = torch.randn(5, C, H, W, dtype=DT)
    b = 3.0 * torch.randn(6, C, H, W, dtype=DT)
    est = second_moment_matrix if kind == "full" else covariance_function
    rc = RunningCovariance(kind, C, H, W, target=2.0, weight=0.1, dtype=DT)
    rc.update(a).update(b)
    expected = 0.9 * est(a) + 0.1 * est(b)
    torch.testing.assert_close(rc.sigma, expected)
    torch.testing.assert_close(mean_diagonal(rc.standardized()), torch.tensor(2.0, dtype=DT))
    g = torch.randn(2, C, H, W, dtype=DT)
    full = expected if kind == "full" else covariance_function_to_matrix(expected, H, W)
    torch.testing.assert_close(rc.apply(g), apply_matrix(standardize(full, 2.0), g))
    assert rc.num_updates == 2


def test_running_covariance_function_scale_and_guard():
    """Kernel standardization uses K[c,c,0,0] (mean raw second moment); apply before update raises."""
    torch.manual_seed(6)
    C, H, W = 1, 5, 5
    xi = torch.randn(400, C, H, W, dtype=DT)
    fun = RunningCovariance("function", C, H, W, dtype=DT).update(xi)
    assert fun.scale() == pytest.approx(1.0 / float(xi.pow(2).mean()))
    with pytest.raises(RuntimeError):
        RunningCovariance("function", C, H, W).apply(xi[:1].float())


def test_running_covariance_state_dict_round_trip():
    torch.manual_seed(7)
    C, H, W = 3, 4, 4
    g = torch.randn(2, C, H, W)
    for kind in ("full", "function", "identity"):
        rc = RunningCovariance(kind, C, H, W, target=0.3, weight=0.2, isotropic=(kind == "function"))
        rc.update(torch.randn(8, C, H, W)).update(torch.randn(8, C, H, W))
        buf = io.BytesIO()
        torch.save(rc.state_dict(), buf)
        buf.seek(0)
        state = torch.load(buf, weights_only=True)  # plain tensors and Python scalars only
        other = RunningCovariance(kind, C, H, W)
        other.load_state_dict(state)
        assert (other.target, other.weight, other.num_updates, other.isotropic) == (0.3, 0.2, 2, kind == "function")
        torch.testing.assert_close(other.apply(g), rc.apply(g))
        torch.testing.assert_close(RunningCovariance.from_state_dict(state).apply(g), rc.apply(g))
        with pytest.raises(ValueError):
            RunningCovariance(kind, C, H + 1, W).load_state_dict(state)
    ident = RunningCovariance("identity", C, H, W, target=0.3)  # GN: Σ̂ = target·I
    torch.testing.assert_close(ident.apply(g), 0.3 * g)
    assert ident.scale() == 0.3
    torch.testing.assert_close(ident.standardized(), 0.3 * torch.eye(C * H * W))
    assert RunningCovariance("identity", C, H, W).apply(g) is g  # target 1: Σ = I exactly


def test_radialize_and_radial_profile():
    C, H, W = 2, 6, 7
    dr = torch.arange(-(H - 1), H, dtype=DT)[:, None]
    dc = torch.arange(-(W - 1), W, dtype=DT)[None, :]
    rad = torch.sqrt(dr**2 + dc**2).round()
    f = torch.exp(-rad / 2.0)                     # a function of the rounded radius
    r, v = radial_profile(f)
    torch.testing.assert_close(v, torch.exp(-r.to(DT) / 2.0))
    assert r[0] == 0 and int(r[-1]) == round(math.hypot(H - 1, W - 1))
    kern = torch.stack([torch.stack([f, 0.5 * f]), torch.stack([0.5 * f, f])])
    torch.testing.assert_close(radialize(kern), kern)  # already isotropic
    torch.manual_seed(8)
    noisy = covariance_function(torch.randn(3, C, H, W, dtype=DT))
    iso = radialize(noisy)
    torch.testing.assert_close(radialize(iso), iso)                               # idempotent
    torch.testing.assert_close(iso, iso.transpose(0, 1).flip(-1, -2))             # Σ stays symmetric
    rw, vw = radial_profile(noisy[0, 0], weights=pair_counts(H, W))
    assert rw.shape == vw.shape and torch.isfinite(vw).all()


def test_decay_length_of_exponentials():
    r = torch.arange(0, 30)
    assert decay_length(r, torch.exp(-r / 3.0)) == pytest.approx(3.0, abs=1e-6)
    assert decay_length(r, 5 * torch.exp(-r / 2.5)) == pytest.approx(2.5, abs=0.1)  # interpolated
    assert decay_length(r.tolist(), torch.exp(-r / 3.0).tolist(), fraction=0.5) == pytest.approx(3 * math.log(2), abs=0.05)
    assert decay_length(r, torch.ones(30)) == math.inf
    # Through the 2-D kernel and its radial profile. Pooling by *rounded* radius (Eq. 16) biases
    # short decay lengths low (ring at r=1 holds the √2 diagonals; exp is convex): ζ=2 -> 1.87.
    for zeta, tol in ((2.0, 0.15), (4.0, 0.1), (8.0, 0.1)):
        kern = lrc_covariance_function(1, 32, 32, zeta, dtype=DT)[0, 0]
        assert decay_length(*radial_profile(kern)) == pytest.approx(zeta, abs=tol)


@pytest.mark.parametrize("kind", ["full", "function"])
def test_scale_is_a_device_tensor_and_rounds_as_the_python_float_did(kind):
    """Issue 30: scale() stays on the device (no host read an SGR step), computed in float64 so the
    float32 products Σ̂ and Σ̂·g are bit for bit what the Python-float scale gave."""
    torch.manual_seed(6)
    C, H, W = 2, 4, 4
    rc = RunningCovariance(kind, C, H, W, target=0.37, weight=0.1).update(torch.randn(9, C, H, W))
    scale = rc.scale()
    assert isinstance(scale, torch.Tensor) and scale.dtype == torch.float64 and scale.dim() == 0
    as_float = 0.37 / float(mean_diagonal(rc.sigma))
    g = torch.randn(3, C, H, W)
    assert torch.equal(rc.standardized(), rc.sigma * as_float)
    raw = apply_matrix(rc.sigma, g) if kind == "full" else apply_covariance_function(rc.sigma, g)
    assert torch.equal(rc.apply(g), raw * as_float)
