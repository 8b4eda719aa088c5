"""Covariance structure of perturbations vs the data (SGR paper Sec. 4.2, Figs. 2 and 5).

For a set of perturbations ξ (N,C,H,W) — adversarial perturbations x_adv − x_clean, or the
data set's centred images x − mean(x) — this computes

* the raw second-moment matrix (1/N) Σ ξξᵀ (Eq. 15), flattened row-major in (C,H,W), accumulated
  over chunks of samples so N = 10000 CIFAR images never sit in float64 at once;
* the covariance function of pixel displacement (Eq. 16) per channel pair
  (``covariance.covariance_function``);
* its radial profiles (``covariance.radial_profile``): intra-channel (kernel[c,c], one per channel)
  and inter-channel (mean over c ≠ c' of kernel[c,c']; absent for C = 1), each divided by its own
  peak (the entry of largest magnitude, sign kept: for the intra-channel profiles that is the
  zero-displacement variance);
* the decay length (``covariance.decay_length``): first displacement at which the channel-averaged
  normalized intra-channel profile falls to ``fraction`` of its peak (default 1/e; the paper's
  fraction is not legible, 1/e is the usual one).

Everything returned is float64 on the CPU. The math lives in ``advreg.sgr.covariance``; this module only
assembles it.
"""
from __future__ import annotations

import math
from typing import Mapping

import pandas as pd
import torch

from advreg.sgr.covariance import (covariance_function, covariance_function_to_matrix, decay_length, mean_diagonal,
                                   pair_counts, radial_profile, second_moment_matrix)
from advreg.sgr.lrc_noise import lrc_covariance_function

INV_E = math.exp(-1.0)


# ----------------------------------------------------------------------------- estimators

def chunked_second_moment_matrix(xi: torch.Tensor, chunk_size: int = 1024) -> torch.Tensor:
    """(1/N) Σ_b ξ_b ξ_bᵀ (Eq. 15) accumulated over chunks of ``chunk_size`` samples.

    Each chunk's product runs in ξ's dtype on ξ's device (``covariance.second_moment_matrix``) and
    is summed in float64, so memory is O(chunk·d + d²). Returns (d, d) float64 on ξ's device.
    """
    n = xi.shape[0]
    if n == 0:
        raise ValueError("no samples")
    acc = None
    for start in range(0, n, chunk_size):
        part = xi[start:start + chunk_size]
        m = second_moment_matrix(part).double() * part.shape[0]
        acc = m if acc is None else acc.add_(m)
    return acc / n


def centered(x: torch.Tensor) -> torch.Tensor:
    """x − mean over the data set (per pixel and channel): the 'data' source of Fig. 2."""
    return x - x.double().mean(0, keepdim=True).to(x.dtype)


def data_covariance(x_data: torch.Tensor, chunk_size: int = 1024) -> torch.Tensor:
    """The data set's (centred) covariance matrix, (d, d) float64, flattened row-major in (C,H,W)."""
    return chunked_second_moment_matrix(centered(x_data), chunk_size)


def _normalize(profile: torch.Tensor) -> tuple[torch.Tensor, float]:
    """profile / (its entry of largest |value|, sign kept); a zero profile is returned as is."""
    peak = float(profile[int(profile.abs().argmax())])
    return (profile / peak if peak != 0 else profile.clone()), peak


def structure_of(xi: torch.Tensor, fraction: float = INV_E, chunk_size: int = 1024,
                 matrix: bool = True, pair_weighted: bool = True) -> dict:
    """Covariance structure of perturbations xi (N,C,H,W).

    Returns a dict (all tensors float64 on the CPU):

    ``matrix``        (CHW, CHW) raw second moments (Eq. 15), or None if ``matrix=False``;
    ``kernel``        (C, C, 2H−1, 2W−1) covariance function (Eq. 16);
    ``r``             (R,) integer displacements of the radial profiles (ascending, r[0] = 0);
    ``intra``         (C, R) radial profile of kernel[c,c], each divided by its own peak;
    ``intra_mean``    (R,) mean over channels of ``intra`` (peak 1): the curve the decay length is read off;
    ``inter``         (R,) radial profile of the mean over c≠c' of kernel[c,c'], divided by its own
                      peak; None for C = 1;
    ``intra_peak``    (C,) the per-channel peaks (zero-displacement second moments);
    ``inter_rel``     the raw inter-channel profile divided by the mean intra-channel peak instead
                      (what Fig. 2b plots; None for C = 1);
    ``inter_peak``    peak of the raw inter-channel profile (None for C = 1);
    ``peak``          mean intra-channel peak = mean diagonal of Σ (for a stationary field);
    ``decay_length``  first r where ``intra_mean`` ≤ ``fraction`` (linear interpolation; inf if never);
    ``fraction``, ``n``, ``shape`` = (C, H, W).

    ``pair_weighted``: ring averages weight each displacement by its number of in-image pixel
    pairs (``covariance.pair_counts``), i.e. they are plain means over all pixel pairs at that
    rounded distance, which damps the few-pair, noisy entries at large displacements.
    """
    if xi.dim() != 4:
        raise ValueError(f"expected perturbations of shape (N,C,H,W), got {tuple(xi.shape)}")
    xi = xi.detach()
    N, C, H, W = xi.shape
    kernel = None                             # float64 per chunk: never a float64 copy of all of xi
    for start in range(0, N, chunk_size):
        part = xi[start:start + chunk_size]
        k = covariance_function(part.double(), chunk_size=chunk_size) * part.shape[0]
        kernel = k if kernel is None else kernel.add_(k)
    kernel = (kernel / N).cpu()
    weights = pair_counts(H, W) if pair_weighted else None
    intra, intra_peak = [], []
    r = None
    for c in range(C):
        r, prof = radial_profile(kernel[c, c], weights)
        prof, pk = _normalize(prof)
        intra.append(prof)
        intra_peak.append(pk)
    intra = torch.stack(intra)
    intra_mean = intra.mean(0)
    inter, inter_peak, inter_rel = None, None, None
    if C > 1:
        off = ~torch.eye(C, dtype=torch.bool)
        _, prof = radial_profile(kernel[off].mean(0), weights)
        inter, inter_peak = _normalize(prof)
        ref = sum(intra_peak) / C
        inter_rel = prof / ref if ref != 0 else prof.clone()
    full = chunked_second_moment_matrix(xi, chunk_size).cpu() if matrix else None
    return {
        "matrix": full,
        "kernel": kernel,
        "r": r,
        "intra": intra,
        "intra_mean": intra_mean,
        "inter": inter,
        "inter_rel": inter_rel,
        "intra_peak": torch.tensor(intra_peak, dtype=torch.float64),
        "inter_peak": inter_peak,
        "peak": float(mean_diagonal(kernel)),
        "decay_length": decay_length(r, intra_mean, fraction),
        "fraction": float(fraction),
        "n": int(N),
        "shape": (C, H, W),
    }


def perturbation_structure(x_clean: torch.Tensor, adv: Mapping[str, torch.Tensor],
                           x_data: torch.Tensor | None, fraction: float = INV_E,
                           chunk_size: int = 1024, matrix: bool = True
                           ) -> tuple[dict[str, dict], pd.DataFrame]:
    """Structure of each adversarial perturbation x_adv − x_clean and of the data (Fig. 2).

    adv: name -> x_adv (same shape as x_clean). x_data: the data set whose centred images
    x_data − mean(x_data) give the 'data' source (skipped if None). Returns
    (arrays: name -> ``structure_of`` dict, in the order of ``adv`` then 'data';
     table: one row per source with columns [source, n, decay_length, fraction, peak, rms,
     mean_linf, mean_l2, inter_ratio]), where peak is the mean diagonal of Σ (pixel units²),
    rms = √peak, mean_linf / mean_l2 the average per-sample ‖ξ‖∞ / ‖ξ‖₂, and inter_ratio the
    inter-channel peak over the mean intra-channel peak (NaN for C = 1).
    """
    sources: dict[str, torch.Tensor] = {}
    for name, xa in adv.items():
        if xa.shape != x_clean.shape:
            raise ValueError(f"{name}: adversarial set {tuple(xa.shape)} vs clean {tuple(x_clean.shape)}")
        sources[name] = (xa.to(x_clean.device, x_clean.dtype) - x_clean)
    if x_data is not None:
        if "data" in sources:
            raise ValueError("'data' is reserved for the data covariance")
        sources["data"] = centered(x_data)
    arrays, rows = {}, []
    for name, xi in sources.items():
        s = structure_of(xi, fraction, chunk_size=chunk_size, matrix=matrix)
        arrays[name] = s
        flat = xi.detach().flatten(1).double()
        rows.append({
            "source": name,
            "n": s["n"],
            "decay_length": s["decay_length"],
            "fraction": s["fraction"],
            "peak": s["peak"],
            "rms": math.sqrt(max(s["peak"], 0.0)),
            "mean_linf": float(flat.abs().amax(1).mean()),
            "mean_l2": float(flat.norm(dim=1).mean()),
            "inter_ratio": (s["inter_peak"] / float(s["intra_peak"].mean())
                            if s["inter_peak"] is not None and float(s["intra_peak"].mean()) != 0
                            else float("nan")),
        })
    return arrays, pd.DataFrame(rows)


# ----------------------------------------------------------------------------- display helpers

def crop_indices(C: int, H: int, W: int, trim: float = 0.25) -> torch.Tensor:
    """Flat (row-major (C,H,W)) indices of the central crop, ``trim`` of each side removed."""
    if not 0.0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5), got {trim}")
    r0, c0 = int(round(H * trim)), int(round(W * trim))
    rows = torch.arange(r0, H - r0)
    cols = torch.arange(c0, W - c0)
    ch = torch.arange(C)
    idx = (ch[:, None, None] * H + rows[None, :, None]) * W + cols[None, None, :]
    return idx.flatten()


def center_crop_matrix(matrix, C: int, H: int, W: int, trim: float = 0.25) -> torch.Tensor:
    """Restrict a (CHW, CHW) matrix to the pixels of the central crop (``trim`` = 25 % removed on
    each side, the paper's Fig. 2 caption), all channels kept in (C,H,W) row-major order, and
    rescale so its max |element| is 1 (an all-zero matrix stays zero).
    Returns a float64 CPU tensor of side C·h·w with h = H − 2·round(H·trim), w likewise."""
    m = torch.as_tensor(matrix).detach().double().cpu()
    d = C * H * W
    if m.shape != (d, d):
        raise ValueError(f"matrix shape {tuple(m.shape)} does not match C·H·W = {d}")
    idx = crop_indices(C, H, W, trim)
    sub = m[idx][:, idx]
    amax = float(sub.abs().max()) if sub.numel() else 0.0
    return sub / amax if amax > 0 else sub


def shown_matrix(source: dict, C: int, H: int, W: int, trim: float = 0.25) -> torch.Tensor:
    """The matrix Fig. 2 shows for one source of ``perturbation_structure``: its second-moment
    matrix, or (where that was not kept) the stationary matrix of its covariance function,
    centre-cropped and rescaled (``center_crop_matrix``)."""
    m = source.get("matrix")
    if m is None:
        m = covariance_function_to_matrix(source["kernel"], H, W)
    return center_crop_matrix(m, C, H, W, trim)


def lrc_matrices(C: int, H: int, W: int, zetas, inter_channel: float = 0.5,
                 trim: float = 0.25) -> dict[float, torch.Tensor]:
    """Fig. 5: per ζ the LRC covariance matrix Cch ⊗ exp(−r/ζ) (eq. 11, ``lrc_covariance_function``
    laid out as the stationary (CHW)² matrix), centre-cropped and rescaled like Fig. 2."""
    out = {}
    for zeta in zetas:
        kern = lrc_covariance_function(C, H, W, float(zeta), inter_channel, dtype=torch.float64)
        out[float(zeta)] = center_crop_matrix(covariance_function_to_matrix(kern, H, W), C, H, W, trim)
    return out
