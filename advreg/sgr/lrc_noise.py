"""Long-range-correlated (LRC) Gaussian noise, SGR paper Sec. 4.3 (ICLR revision).

Σ_ζ over (channel, pixel) pairs is the Kronecker product Cch ⊗ K_ζ:
  Cch[c,c'] = 1 if c = c' else ``inter_channel`` (0.5), K_ζ[i,j] = exp(−‖p_i − p_j‖₂/ζ),
with p_i the (row, col) position of pixel i. Every pixel therefore has unit marginal variance,
and ε in ``perturb`` scales this unit-variance noise in units of the [0,1] pixel range (the
paper's "factor with which the perturbations were scaled", ε ∈ [0.01, 0.7], e.g. 0.3).
ζ → 0 gives Σ → Cch ⊗ I (white noise within each channel).

Layouts follow ``advreg.sgr.covariance``: samples (n,C,H,W), flattening row-major in (C,H,W),
covariance functions (C, C, 2H−1, 2W−1) with zero displacement at (H−1, W−1).
"""
from __future__ import annotations

import torch

from advreg.sgr.covariance import covariance_function_to_matrix, standardize


def channel_matrix(C: int, inter_channel: float = 0.5, dtype=torch.float64, device=None) -> torch.Tensor:
    """Cch: 1 on the diagonal, ``inter_channel`` off it, shape (C, C)."""
    m = torch.full((C, C), float(inter_channel), dtype=dtype, device=device)
    m.fill_diagonal_(1.0)
    return m


def _exp_decay(dist: torch.Tensor, zeta: float) -> torch.Tensor:
    if zeta <= 0:  # ζ → 0 limit: no spatial correlation
        return (dist == 0).to(dist.dtype)
    return torch.exp(-dist / zeta)


def lrc_covariance_function(C: int, H: int, W: int, zeta: float, inter_channel: float = 0.5,
                            dtype=torch.float32, device=None) -> torch.Tensor:
    """Kernel K[c,c',H−1+Δr,W−1+Δc] = Cch[c,c']·exp(−‖Δ‖₂/ζ), shape (C, C, 2H−1, 2W−1)."""
    dr = torch.arange(-(H - 1), H, dtype=torch.float64, device=device)
    dc = torch.arange(-(W - 1), W, dtype=torch.float64, device=device)
    spatial = _exp_decay(torch.sqrt(dr[:, None] ** 2 + dc[None, :] ** 2), zeta)
    k = channel_matrix(C, inter_channel, device=device)[:, :, None, None] * spatial
    return k.to(dtype)


def spatial_matrix(H: int, W: int, zeta: float, dtype=torch.float64, device=None) -> torch.Tensor:
    """K_ζ on the H·W grid (row-major pixel order): exp(−‖p_i − p_j‖₂/ζ), shape (HW, HW)."""
    rr, cc = torch.meshgrid(torch.arange(H, dtype=torch.float64, device=device),
                            torch.arange(W, dtype=torch.float64, device=device), indexing="ij")
    pos = torch.stack([rr.flatten(), cc.flatten()], 1)
    return _exp_decay(torch.cdist(pos, pos), zeta).to(dtype)


def _cholesky(m: torch.Tensor) -> torch.Tensor:
    """Cholesky factor with escalating diagonal jitter if m is numerically semi-definite."""
    scale = float(m.diagonal().mean())
    for jitter in (0.0, 1e-12, 1e-10, 1e-8, 1e-6):
        eye = torch.eye(m.shape[0], dtype=m.dtype, device=m.device)
        L, info = torch.linalg.cholesky_ex(m + jitter * scale * eye)
        if int(info) == 0:
            return L
    raise RuntimeError("covariance is not positive definite even with 1e-6 relative jitter")


class LRCSampler:
    """ξ ~ N(0, Cch ⊗ K_ζ), sampled with the Kronecker structure.

    With Z (C, HW) standard normal, X = L_C Z L_Kᵀ has Cov(X[c,i], X[c',j]) = Cch[c,c']·K_ζ[i,j],
    where L_C, L_K are Cholesky factors of the C×C and HW×HW factors (no (HWC)² factorization).
    The factorization is done in float64; sampling in ``dtype`` on ``device``.
    """

    def __init__(self, C: int, H: int, W: int, zeta: float, inter_channel: float = 0.5,
                 device=None, dtype: torch.dtype = torch.float32):
        self.C, self.H, self.W, self.zeta, self.inter_channel = C, H, W, float(zeta), float(inter_channel)
        self.device, self.dtype = torch.device(device) if device is not None else torch.device("cpu"), dtype
        self.L_C = _cholesky(channel_matrix(C, inter_channel)).to(self.device, dtype)
        self.L_K = _cholesky(spatial_matrix(H, W, zeta)).to(self.device, dtype)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws of shape (n, C, H, W); ``generator`` must live on the sampler's device."""
        z = torch.randn(n, self.C, self.H * self.W, generator=generator, device=self.device, dtype=self.dtype)
        x = self.L_C @ z @ self.L_K.T
        return x.reshape(n, self.C, self.H, self.W)

    def covariance_function(self) -> torch.Tensor:
        """The generating covariance function (C, C, 2H−1, 2W−1), float64."""
        return lrc_covariance_function(self.C, self.H, self.W, self.zeta, self.inter_channel,
                                       dtype=torch.float64)

    def covariance_matrix(self) -> torch.Tensor:
        """Σ = (L_C L_Cᵀ) ⊗ (L_K L_Kᵀ), shape (CHW, CHW), float64 (for tests / small images)."""
        lc, lk = self.L_C.double().cpu(), self.L_K.double().cpu()
        return torch.kron(lc @ lc.T, lk @ lk.T)


class GaussianSampler:
    """ξ ~ N(0, Σ) for a general full Σ = A Aᵀ (e.g. a data set's own covariance, Sec. 4.3).

    ``factor`` A: (d, k) with d = C·H·W; a sample is A z reshaped to (C,H,W).
    """

    def __init__(self, factor: torch.Tensor, C: int, H: int, W: int):
        if factor.shape[0] != C * H * W:
            raise ValueError(f"factor has {factor.shape[0]} rows, expected C·H·W = {C * H * W}")
        self.factor, self.C, self.H, self.W = factor, C, H, W

    @classmethod
    def from_matrix(cls, full_cov: torch.Tensor, C: int, H: int, W: int,
                    mean_diagonal: float | None = 1.0, device=None,
                    dtype: torch.dtype = torch.float32) -> "GaussianSampler":
        """Factor a (d,d) covariance by eigh (negative eigenvalues from round-off clipped to 0).

        mean_diagonal: first rescale Σ so (1/d)·Tr Σ equals this (default 1, matching the LRC
        noise's unit marginal variance, so ε means the same thing); None keeps Σ as given.
        """
        cov = full_cov.detach().to(torch.float64).cpu()
        cov = 0.5 * (cov + cov.T)
        if mean_diagonal is not None:
            cov = standardize(cov, mean_diagonal)
        evals, evecs = torch.linalg.eigh(cov)
        factor = evecs * evals.clamp_min(0.0).sqrt()
        return cls(factor.to(device=device, dtype=dtype), C, H, W)

    @classmethod
    def from_kernel(cls, kernel: torch.Tensor, H: int, W: int, mean_diagonal: float | None = 1.0,
                    device=None, dtype: torch.dtype = torch.float32) -> "GaussianSampler":
        """From a covariance function (C, C, 2H−1, 2W−1) via its full stationary matrix."""
        full = covariance_function_to_matrix(kernel.detach().double().cpu(), H, W)
        return cls.from_matrix(full, kernel.shape[0], H, W, mean_diagonal, device, dtype)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws of shape (n, C, H, W); ``generator`` must live on the factor's device."""
        z = torch.randn(n, self.factor.shape[1], generator=generator, device=self.factor.device,
                        dtype=self.factor.dtype)
        return (z @ self.factor.T).reshape(n, self.C, self.H, self.W)

    def covariance_matrix(self) -> torch.Tensor:
        f = self.factor.double().cpu()
        return f @ f.T


def perturb(x: torch.Tensor, noise: torch.Tensor, eps: float) -> torch.Tensor:
    """clip(x + ε·ξ, 0, 1). ξ has unit marginal variance (LRC) or unit mean variance
    (``GaussianSampler`` default), so ε is the noise standard deviation in pixel-range units."""
    return (x + eps * noise).clamp(0.0, 1.0)
