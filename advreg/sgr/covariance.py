"""Second-moment ("covariance") estimates of perturbations ξ and the products Σ·g used by SGR.

Conventions
-----------
* Perturbations ξ and gradients g have shape (B,C,H,W) and live in pixel units. Flattening is
  row-major in (C,H,W) order: flat index (c·H + r)·W + s.
* Σ is the matrix of *raw* second moments E[ξξᵀ] (Eq. 1, Eq. 15), not centred.
* Full matrix: (d,d) with d = C·H·W (Eq. 15).
* Covariance function (Eq. 16, a stationary Σ): a kernel K of shape (C, C, 2H−1, 2W−1) with
  K[c, c', H−1+Δr, W−1+Δc] = E[ξ_c(i) ξ_c'(i+Δ)], i.e. Σ_{(c,i),(c',j)} = K[c, c', j−i].
  Symmetry of Σ means K[c,c',Δ] = K[c',c,−Δ]. The paper additionally pools displacements by
  rounded Euclidean length (Eq. 16); ``radialize`` does that, ``radial_profile`` gives the 1-D
  curve of Fig. 2b.
* Standardization: Σ is rescaled so that its mean diagonal, (1/d)·Tr Σ, equals a target (the data
  covariance's mean diagonal, arXiv Sec. 3; ICLR: 1), so λ reads as a noise-to-signal ratio.
  For a kernel the diagonal of the stationary matrix is K[c,c,0,0], so the mean diagonal is
  mean_c K[c, c, H−1, W−1].
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------- estimators


def second_moment_matrix(xi: torch.Tensor) -> torch.Tensor:
    """Raw second moments (1/B) Σ_b ξ_b ξ_bᵀ (Eq. 15). xi: (B, ...) -> (d, d), d = numel per sample."""
    flat = xi.reshape(xi.shape[0], -1)
    return flat.T @ flat / flat.shape[0]


def pair_counts(H: int, W: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """Number of in-image pixel pairs (i, i+Δ) per displacement: (H−|Δr|)(W−|Δc|), shape (2H−1, 2W−1)."""
    r = H - torch.arange(-(H - 1), H, dtype=dtype, device=device).abs()
    c = W - torch.arange(-(W - 1), W, dtype=dtype, device=device).abs()
    return r[:, None] * c[None, :]


def covariance_function(xi: torch.Tensor, chunk_size: int = 512) -> torch.Tensor:
    """Covariance function of pixel displacement (Eq. 16), per channel pair.

    xi: (B,C,H,W). Returns K of shape (C, C, 2H−1, 2W−1) with
    K[c, c', H−1+Δr, W−1+Δc] = mean over b and over all in-image pairs (i, i+Δ) of ξ_{b,c}(i)·ξ_{b,c'}(i+Δ).
    Computed as an FFT cross-correlation (zero-padded to 2H−1 × 2W−1, so no wrap-around), divided
    by B × the number of pairs at each displacement. Memory O(chunk·C·HW + C²·HW).
    """
    B, C, H, W = xi.shape
    size = (2 * H - 1, 2 * W - 1)
    acc = None
    for start in range(0, B, chunk_size):
        X = torch.fft.rfft2(xi[start:start + chunk_size], s=size)          # (b,C,2H−1,W)
        # Σ_b conj(X_c) X_c' per frequency, as a batched matmul over (u,v): (u,v,C,C)
        a = X.permute(2, 3, 1, 0).conj().resolve_conj().contiguous()       # (u,v,C,b)
        part = a @ X.permute(2, 3, 0, 1).contiguous()                      # lazy-conj matmul is slow
        acc = part if acc is None else acc + part
    corr = torch.fft.irfft2(acc.permute(2, 3, 0, 1), s=size)               # [c,c',Δ mod size]
    corr = torch.roll(corr, shifts=(H - 1, W - 1), dims=(-2, -1))           # Δ=0 at (H−1, W−1)
    return corr / (B * pair_counts(H, W, dtype=corr.dtype, device=corr.device))


def data_mean_diagonal(x: torch.Tensor, centered: bool = True) -> float:
    """Mean diagonal of a data set's covariance, (1/d) Tr Cov(x), for x of shape (N, ...).

    centered=True: per-pixel variance across the data set averaged over pixels (the usual "data
    covariance"); centered=False: mean raw second moment. The standardization target.
    """
    flat = x.reshape(x.shape[0], -1).double()
    if centered:
        return float(flat.var(0, unbiased=False).mean())
    return float(flat.pow(2).mean())


# ----------------------------------------------------------------------------- products Σ·g


def _fft_size(n: int) -> int:
    """Smallest length ≥ n whose only prime factors are 2, 3 and 5 (fast FFT sizes)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def kernel_spectrum(kernel: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """rFFT of the covariance function laid out as a circular filter h(m) = K(−m) of size
    (LH, LW) ≥ (2H−1, 2W−1), so that Σ·g is one circular convolution with no wrap-around:
    all displacements j−i of an H×W image are distinct modulo LH×LW."""
    LH, LW = _fft_size(2 * H - 1), _fft_size(2 * W - 1)
    h = torch.flip(kernel, dims=(-2, -1))  # index a ↔ displacement −(a − (H−1))
    h = F.pad(h, (0, LW - (2 * W - 1), 0, LH - (2 * H - 1)))
    h = torch.roll(h, shifts=(-(H - 1), -(W - 1)), dims=(-2, -1))  # displacement 0 at index 0
    return torch.fft.rfft2(h)


def apply_covariance_function(kernel: torch.Tensor, g: torch.Tensor, method: str = "fft",
                              spectrum: torch.Tensor | None = None) -> torch.Tensor:
    """Σ·g for the stationary Σ of a covariance function (Eq. 16), never forming the matrix.

    kernel: (C, C, 2H−1, 2W−1); g: (B,C,H,W). (Σg)_{c,i} = Σ_{c',j} K[c,c',j−i] g_{c',j}.
    ``fft`` (default): a zero-padded circular convolution in the Fourier domain, O(B·C·HW·log HW +
    B·C²·HW) — the cheap path for training. ``conv``: the same product as one conv2d
    (cross-correlation with padding (H−1, W−1)), O(B·C²·H²W²), kept as the reference.
    Memory O(C²HW) either way; differentiable in g. ``spectrum``: a cached ``kernel_spectrum``.
    """
    _, C, H, W = g.shape
    if kernel.shape != (C, C, 2 * H - 1, 2 * W - 1):
        raise ValueError(f"kernel shape {tuple(kernel.shape)} does not fit gradients {tuple(g.shape)}")
    kernel = kernel.to(dtype=g.dtype, device=g.device)
    if method == "conv":
        return F.conv2d(g, kernel, padding=(H - 1, W - 1))
    if method != "fft":
        raise ValueError(f"method={method!r}; expected 'fft' or 'conv'")
    spec = kernel_spectrum(kernel, H, W) if spectrum is None else spectrum
    LH, LW = _fft_size(2 * H - 1), _fft_size(2 * W - 1)
    gf = torch.fft.rfft2(g, s=(LH, LW))                       # (B, C', LH, LW//2+1)
    out = torch.einsum("bdxy,cdxy->bcxy", gf, spec)            # sum over source channels c'
    return torch.fft.irfft2(out, s=(LH, LW))[..., :H, :W]


def apply_matrix(matrix: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Σ·g for a full (d,d) matrix and g of shape (B, ...) with d = numel per sample."""
    flat = g.reshape(g.shape[0], -1)
    return (flat @ matrix.to(dtype=g.dtype, device=g.device).T).reshape(g.shape)


def covariance_function_to_matrix(kernel: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """The full stationary (CHW, CHW) matrix Σ_{(c,i),(c',j)} = K[c, c', j−i] (for tests, small images)."""
    C = kernel.shape[0]
    rr = torch.arange(H, device=kernel.device)
    cc = torch.arange(W, device=kernel.device)
    dr = (rr[None, :] - rr[:, None] + H - 1).view(H, 1, H, 1)   # [ir, ., jr, .] -> jr−ir+H−1
    dc = (cc[None, :] - cc[:, None] + W - 1).view(1, W, 1, W)   # [., ic, ., jc] -> jc−ic+W−1
    full = kernel[:, :, dr, dc]                                 # (C,C,H,W,H,W): [c,c',ir,ic,jr,jc]
    return full.permute(0, 2, 3, 1, 4, 5).reshape(C * H * W, C * H * W)


# ----------------------------------------------------------------------------- standardization


def mean_diagonal(sigma: torch.Tensor) -> torch.Tensor:
    """(1/d) Tr Σ for a full (d,d) matrix, or mean_c K[c,c,H−1,W−1] for a (C,C,2H−1,2W−1) kernel."""
    if sigma.dim() == 2:
        return sigma.diagonal().mean()
    if sigma.dim() == 4:
        _, _, h2, w2 = sigma.shape
        return sigma[:, :, (h2 - 1) // 2, (w2 - 1) // 2].diagonal().mean()
    raise ValueError(f"expected a (d,d) matrix or (C,C,2H-1,2W-1) kernel, got shape {tuple(sigma.shape)}")


def standardize(sigma: torch.Tensor, target: float = 1.0) -> torch.Tensor:
    """Rescale a matrix or kernel so its mean diagonal equals ``target`` (λ = noise-to-signal ratio)."""
    md = mean_diagonal(sigma)
    if not torch.isfinite(md) or md <= 0:
        raise ValueError(f"cannot standardize: mean diagonal is {float(md)}")
    return sigma * (target / md)


# ----------------------------------------------------------------------------- radial analysis


def _rounded_radius(h2: int, w2: int, device=None) -> torch.Tensor:
    dr = torch.arange(h2, device=device, dtype=torch.float64) - (h2 - 1) // 2
    dc = torch.arange(w2, device=device, dtype=torch.float64) - (w2 - 1) // 2
    return torch.sqrt(dr[:, None] ** 2 + dc[None, :] ** 2).round().long()  # never exactly .5


def radial_profile(kernel2d: torch.Tensor,
                   weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Average a centred 2-D kernel (2H−1, 2W−1) over integer-rounded Euclidean displacement.

    Returns (r, values): the integer radii present (int64, ascending) and the mean kernel value at
    each; ``weights`` (same shape, e.g. ``pair_counts``) makes it a weighted mean.
    """
    h2, w2 = kernel2d.shape
    rad = _rounded_radius(h2, w2, kernel2d.device).flatten()
    vals = kernel2d.flatten()
    wts = torch.ones_like(vals) if weights is None else weights.flatten().to(vals)
    n = int(rad.max()) + 1
    sums = torch.zeros(n, dtype=vals.dtype, device=vals.device).index_add_(0, rad, vals * wts)
    norm = torch.zeros(n, dtype=vals.dtype, device=vals.device).index_add_(0, rad, wts)
    present = norm > 0
    return torch.arange(n, device=vals.device)[present], sums[present] / norm[present]


def radialize(kernel: torch.Tensor) -> torch.Tensor:
    """Isotropic version of a (C,C,2H−1,2W−1) kernel: each entry replaced by the mean over its
    rounded-Euclidean-distance ring (the paper's CovFun(round‖i−j‖), Eq. 16). Keeps Σ symmetric."""
    C1, C2, h2, w2 = kernel.shape
    rad = _rounded_radius(h2, w2, kernel.device)
    n = int(rad.max()) + 1
    flat = kernel.reshape(C1, C2, -1)
    sums = torch.zeros(C1, C2, n, dtype=kernel.dtype, device=kernel.device).index_add_(-1, rad.flatten(), flat)
    counts = torch.bincount(rad.flatten(), minlength=n).to(kernel.dtype)
    prof = sums / counts.clamp_min(1)
    return prof[:, :, rad]


def decay_length(r: Sequence[float] | torch.Tensor, values: Sequence[float] | torch.Tensor,
                 fraction: float = math.exp(-1.0)) -> float:
    """First displacement where values/values[0] falls to ``fraction`` (default 1/e), with linear
    interpolation between the bracketing samples; ``inf`` if it never does. r ascending, r[0] = 0."""
    r = torch.as_tensor(r, dtype=torch.float64).flatten().cpu()
    v = torch.as_tensor(values, dtype=torch.float64).flatten().cpu()
    v = v / v[0]
    below = torch.nonzero(v <= fraction).flatten()
    if below.numel() == 0:
        return math.inf
    k = int(below[0])
    if k == 0:
        return float(r[0])
    v0, v1 = float(v[k - 1]), float(v[k])
    t = (v0 - fraction) / (v0 - v1)
    return float(r[k - 1] + t * (r[k] - r[k - 1]))


# ----------------------------------------------------------------------------- running estimate


class RunningCovariance:
    """Running Σ estimate of Eq. 14 / Algorithm 1 and the standardized product Σ·g.

    kind: 'full' (Eq. 15, (d,d) state), 'function' (Eq. 16, (C,C,2H−1,2W−1) state) or
    'identity' (GN). ``update(xi)``: S_t = (1−w) S_{t−1} + w·Cov(batch), w = ``weight`` (the
    paper's β = 0.1, the weight on the *new* batch); the first update sets S = Cov(batch).
    ``apply(g)`` (also ``self(g)``) returns Σ̂·g with Σ̂ = S·target/mean_diagonal(S), i.e. S
    standardized to mean diagonal ``target``. The identity kind is GN: Σ ∝ I, standardized like
    every other Σ̂, i.e. Σ̂ = target·I (Σ = I exactly for target 1, the ICLR convention), so GN's
    and SGR's λ are on the same noise-to-signal scale. ``isotropic=True`` (kind 'function') applies the radially averaged kernel
    (``radialize``).

    A plain class, not an nn.Module (whose own ``apply(fn)`` this would shadow); it has
    ``state_dict``/``load_state_dict``/``to`` for checkpointing. Σ̂ is a constant for autograd.
    """

    KINDS = ("full", "function", "identity")

    def __init__(self, kind: str, C: int, H: int, W: int, target: float = 1.0, weight: float = 0.1,
                 isotropic: bool = False, dtype: torch.dtype = torch.float32, device=None):
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        if not 0.0 < weight <= 1.0:
            raise ValueError(f"weight must be in (0, 1], got {weight}")
        if target <= 0:
            raise ValueError(f"target mean diagonal must be positive, got {target}")
        self.kind, self.C, self.H, self.W = kind, C, H, W
        self.target, self.weight, self.isotropic = float(target), float(weight), bool(isotropic)
        d = C * H * W
        shape = {"full": (d, d), "function": (C, C, 2 * H - 1, 2 * W - 1), "identity": (0,)}[kind]
        self.sigma = torch.zeros(shape, dtype=dtype, device=device)  # raw EMA S_t (unstandardized)
        self.num_updates = 0

    def __repr__(self) -> str:
        return (f"RunningCovariance(kind={self.kind!r}, C={self.C}, H={self.H}, W={self.W}, "
                f"target={self.target:g}, weight={self.weight}, isotropic={self.isotropic}, "
                f"num_updates={self.num_updates})")

    # -- checkpointing
    def state_dict(self) -> dict:
        return {"kind": self.kind, "shape": (self.C, self.H, self.W), "target": self.target,
                "weight": self.weight, "isotropic": self.isotropic,
                "num_updates": self.num_updates, "sigma": self.sigma.detach().clone()}

    def load_state_dict(self, state: dict) -> None:
        if state["kind"] != self.kind or tuple(state["shape"]) != (self.C, self.H, self.W):
            raise ValueError(f"state is for kind={state['kind']!r} shape={tuple(state['shape'])}, "
                             f"this estimator is kind={self.kind!r} shape={(self.C, self.H, self.W)}")
        self.target, self.weight = float(state["target"]), float(state["weight"])
        self.isotropic, self.num_updates = bool(state["isotropic"]), int(state["num_updates"])
        self.sigma = state["sigma"].detach().to(dtype=self.sigma.dtype, device=self.sigma.device).clone()

    @classmethod
    def from_state_dict(cls, state: dict, dtype: torch.dtype = torch.float32, device=None) -> "RunningCovariance":
        C, H, W = state["shape"]
        rc = cls(state["kind"], C, H, W, target=state["target"], weight=state["weight"],
                 isotropic=state["isotropic"], dtype=dtype, device=device)
        rc.load_state_dict(state)
        return rc

    def to(self, device=None, dtype: torch.dtype | None = None) -> "RunningCovariance":
        self.sigma = self.sigma.to(device=device, dtype=dtype)
        return self

    # -- estimation
    def batch_estimate(self, xi: torch.Tensor) -> torch.Tensor:
        """Cov(ξ^(1..m)) of one batch: Eq. 15 (full) or Eq. 16 (function)."""
        xi = xi.detach().to(dtype=self.sigma.dtype, device=self.sigma.device)
        if tuple(xi.shape[1:]) != (self.C, self.H, self.W):
            raise ValueError(f"perturbations {tuple(xi.shape)} do not match (B,{self.C},{self.H},{self.W})")
        return second_moment_matrix(xi) if self.kind == "full" else covariance_function(xi)

    @torch.no_grad()
    def update(self, xi: torch.Tensor) -> "RunningCovariance":
        """EMA update (Eq. 14) with a batch of perturbations xi (B,C,H,W); no-op for 'identity'."""
        if self.kind != "identity":
            est = self.batch_estimate(xi)
            if self.num_updates == 0:
                self.sigma = est.clone()
            else:
                self.sigma = (1.0 - self.weight) * self.sigma + self.weight * est
        self.num_updates += 1
        return self

    # -- products
    def _raw(self) -> torch.Tensor:
        if self.kind != "identity" and self.num_updates == 0:
            raise RuntimeError("RunningCovariance used before its first update()")
        if self.kind == "function" and self.isotropic:
            return radialize(self.sigma)
        return self.sigma

    def scale(self) -> torch.Tensor | float:
        """Factor target/mean_diagonal(S) turning the raw EMA S into the standardized Σ̂ (target for
        identity). A device tensor, not a Python float: reading it would make every SGR step wait
        for the GPU (issue 30)."""
        if self.kind == "identity":
            return self.target
        # in float64, as the Python float it was: the products below round exactly as before
        # (MPS has no float64: float32 there)
        md = mean_diagonal(self._raw())
        return self.target / (md if md.device.type == "mps" else md.double())

    def standardized(self) -> torch.Tensor:
        """Σ̂ itself: a (d,d) matrix, a kernel, or (identity) target·I as a (d,d) matrix."""
        if self.kind == "identity":
            d = self.C * self.H * self.W
            return self.target * torch.eye(d, dtype=self.sigma.dtype, device=self.sigma.device)
        return self._raw() * self.scale()

    def apply(self, g: torch.Tensor) -> torch.Tensor:
        """Standardized Σ̂·g for g of shape (B,C,H,W); differentiable in g."""
        if self.kind == "identity":
            return g if self.target == 1.0 else self.target * g
        raw = self._raw()
        prod = apply_matrix(raw, g) if self.kind == "full" else apply_covariance_function(raw, g)
        return prod * self.scale()

    __call__ = apply  # usable directly as the ``apply_sigma`` callable
