"""Long-range-correlated noise (SGR paper Sec. 4.3): kernel, Kronecker sampler, Gaussian sampler."""
from __future__ import annotations

import math

import pytest
import torch

from advreg.sgr.covariance import (covariance_function, covariance_function_to_matrix, decay_length, mean_diagonal,
                                   radial_profile, second_moment_matrix)
from advreg.sgr.lrc_noise import (GaussianSampler, LRCSampler, channel_matrix, lrc_covariance_function, perturb,
                                  spatial_matrix)

DT = torch.float64


def test_lrc_covariance_function_values():
    C, H, W, zeta = 3, 6, 7, 2.5
    k = lrc_covariance_function(C, H, W, zeta, dtype=DT)
    assert k.shape == (C, C, 2 * H - 1, 2 * W - 1)
    assert float(k[1, 1, H - 1, W - 1]) == 1.0 and float(k[0, 2, H - 1, W - 1]) == 0.5
    assert float(k[2, 2, H - 1 + 3, W - 1 - 4]) == pytest.approx(math.exp(-5 / zeta))      # r = 5
    assert float(k[0, 1, H - 1 - 1, W - 1 + 1]) == pytest.approx(0.5 * math.exp(-math.sqrt(2) / zeta))
    assert float(mean_diagonal(k)) == 1.0
    white = lrc_covariance_function(2, H, W, 0.0, dtype=DT)  # ζ → 0: spatially white
    assert float(white[0, 0].sum()) == 1.0 and float(white[0, 1].sum()) == 0.5


def test_sampler_covariance_is_the_kronecker_product():
    """The Kronecker factors reproduce exactly the stationary matrix of the LRC covariance function."""
    C, H, W, zeta = 3, 6, 5, 2.0
    sampler = LRCSampler(C, H, W, zeta, dtype=DT)
    full = covariance_function_to_matrix(lrc_covariance_function(C, H, W, zeta, dtype=DT), H, W)
    torch.testing.assert_close(sampler.covariance_matrix(), full, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(torch.kron(channel_matrix(C), spatial_matrix(H, W, zeta)), full)
    LRCSampler(3, 32, 32, 16.0)  # CIFAR size, longest ζ: the spatial Cholesky succeeds


def test_sample_covariance_converges_to_lrc_function():
    """covariance_function of n samples → lrc_covariance_function, error ~ n^{-1/2}; its radial
    profile recovers the generating decay length."""
    C, H, W, zeta = 3, 10, 10, 3.0
    sampler = LRCSampler(C, H, W, zeta, dtype=DT)
    true = sampler.covariance_function()
    gen = torch.Generator().manual_seed(0)
    errs, decays = [], []
    for n in (200, 3200):
        est = covariance_function(sampler.sample(n, generator=gen))
        # central displacements |Δ| ≤ 4, where every entry averages many pixel pairs
        errs.append(float((est - true)[:, :, H - 5:H + 4, W - 5:W + 4].abs().max()))
        decays.append(decay_length(*radial_profile(est[1, 1])))
    assert errs[1] < 0.5 * errs[0], errs
    assert errs[1] < 0.04, errs
    assert decays[1] == pytest.approx(decay_length(*radial_profile(true[1, 1])), abs=0.15)
    assert decays[1] == pytest.approx(zeta, abs=0.2)


def test_sampler_dtype_shape_and_generator():
    sampler = LRCSampler(2, 8, 9, 4.0)
    a = sampler.sample(5, generator=torch.Generator().manual_seed(3))
    b = sampler.sample(5, generator=torch.Generator().manual_seed(3))
    assert a.shape == (5, 2, 8, 9) and a.dtype == torch.float32
    torch.testing.assert_close(a, b)


def test_gaussian_sampler_from_matrix_and_kernel():
    torch.manual_seed(1)
    C, H, W = 1, 4, 4
    d = C * H * W
    basis = torch.randn(d, 6, dtype=DT)
    cov = 3.0 * basis @ basis.T / 6                   # rank-deficient: tiny negative eigenvalues
    sampler = GaussianSampler.from_matrix(cov, C, H, W, dtype=DT)
    torch.testing.assert_close(sampler.covariance_matrix(), cov / mean_diagonal(cov), rtol=1e-8, atol=1e-10)
    raw = GaussianSampler.from_matrix(cov, C, H, W, mean_diagonal=None, dtype=DT)
    torch.testing.assert_close(raw.covariance_matrix(), cov, rtol=1e-8, atol=1e-10)
    xs = raw.sample(20000, generator=torch.Generator().manual_seed(2))
    assert xs.shape == (20000, C, H, W)
    rel = (second_moment_matrix(xs) - cov).abs().max() / cov.abs().max()
    assert rel < 0.05
    kern = lrc_covariance_function(2, 5, 5, 2.0, dtype=DT)
    from_k = GaussianSampler.from_kernel(kern, 5, 5, dtype=DT)
    torch.testing.assert_close(from_k.covariance_matrix(), covariance_function_to_matrix(kern, 5, 5),
                               rtol=1e-8, atol=1e-10)


def test_perturb_scales_and_clips():
    x = torch.tensor([[[[0.0, 0.5, 1.0]]]])
    noise = torch.tensor([[[[1.0, -1.0, 1.0]]]])
    torch.testing.assert_close(perturb(x, noise, 0.3), torch.tensor([[[[0.3, 0.2, 1.0]]]]))
    torch.testing.assert_close(perturb(x, noise, 0.0), x)
