"""Worst-of-k attack with long-range-correlated Gaussian noise (SGR paper Sec. 4.3, Figs. 3 and 4).

Every test point x is perturbed k times, x̃_j = clip(x + ε·ξ_j, 0, 1) (``lrc.perturb``), with ξ_j
drawn from N(0, Σ_ζ) (unit marginal variance, ``lrc.LRCSampler``) or from the data set's own
covariance standardized to mean diagonal 1 (``lrc.GaussianSampler``); so ε is the noise standard
deviation in units of the [0, 1] pixel range (ε ∈ [0.01, 0.7], 0.3 in Fig. 3). A point counts as
correct only if all k perturbed copies are classified as its label (k = 100 in the ICLR version).

Randomness: each (ζ, ε) cell of a sweep uses a fresh generator seeded with ``seed`` (common random
numbers). The underlying standard-normal draws are therefore identical across ε, ζ and models, so
curves over ε / ζ and differences between models are not blurred by independent sampling noise,
and one cell's result does not depend on which other cells are in the sweep. Runs differ by ``seed``.

Noise is drawn per draw and per batch of points, draw-major (draw 0 for batches 0, 1, ..., then
draw 1, ...), so for a given seed and batch size the j-th draw is the same whatever k is: worst-of-k
is non-increasing in k and k = 1 is the first draw of any larger k. The model's train/eval mode is left as it is (call ``model.eval()`` first).
"""
from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd
import torch
from torch import nn

from advreg.nn.predict import model_device
from advreg.sgr.lrc_noise import GaussianSampler, LRCSampler, perturb
from advreg.sgr.structure import data_covariance

COLUMNS = ["noise", "zeta", "eps", "k", "worst_of_k_acc", "mean_single_acc", "n", "seed"]


@torch.no_grad()
def worst_of_k_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                        sample_noise: Callable[[int, torch.Generator | None], torch.Tensor],
                        eps: float, k: int, batch_size: int,
                        generator: torch.Generator | None) -> dict:
    """Worst-of-k accuracy (%) and the accuracy (%) under each of the k draws.

    sample_noise(n, generator) -> (n, C, H, W) noise (moved to the model's device if needed).
    Returns {'worst': float, 'single': list of k floats}; 'single'[j] is the accuracy on the j-th
    perturbed copy of every point, so worst ≤ min(single), with equality for k = 1.
    """
    if k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    n = x.shape[0]
    if n == 0:
        raise ValueError("empty test set")
    dev = model_device(model, x.device)
    step = n if not batch_size or batch_size <= 0 else int(batch_size)
    x, y = x.to(dev), y.to(dev)
    ok = torch.ones(n, dtype=torch.bool, device=dev)
    single = torch.zeros(k, dtype=torch.long, device=dev)
    for j in range(k):                       # draw-major: draw j does not depend on k
        for start in range(0, n, step):
            xb, yb = x[start:start + step], y[start:start + step]
            noise = sample_noise(xb.shape[0], generator).to(dev, xb.dtype)
            hit = model(perturb(xb, noise, eps)).argmax(1) == yb
            ok[start:start + step] &= hit
            single[j] += hit.sum()
    all_correct = int(ok.sum())
    return {"worst": 100.0 * all_correct / n, "single": (100.0 * single.double().cpu() / n).tolist()}


def _generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def _sweep(model, x, y, sampler, noise: str, zeta: float, epsilons: Sequence[float], k: int,
           batch_size: int, seed: int, device: torch.device) -> list[dict]:
    rows = []
    for eps in epsilons:
        res = worst_of_k_accuracy(model, x, y, sampler.sample, float(eps), k, batch_size,
                                  _generator(seed, device))
        rows.append({"noise": noise, "zeta": float(zeta), "eps": float(eps), "k": int(k),
                     "worst_of_k_acc": res["worst"],
                     "mean_single_acc": sum(res["single"]) / len(res["single"]),
                     "n": int(x.shape[0]), "seed": int(seed)})
    return rows


def lrc_sweep(model: nn.Module, x: torch.Tensor, y: torch.Tensor, zetas: Sequence[float],
              epsilons: Sequence[float], k: int, batch_size: int, seed: int,
              inter_channel: float = 0.5) -> pd.DataFrame:
    """Worst-of-k accuracy under LRC noise for every (ζ, ε); one LRCSampler per ζ.

    Returns a DataFrame with columns [noise='lrc', zeta, eps, k, worst_of_k_acc (%),
    mean_single_acc (%), n, seed], one row per (ζ, ε) in the given order.
    """
    dev = model_device(model, x.device)
    _, C, H, W = x.shape
    rows = []
    for zeta in zetas:
        sampler = LRCSampler(C, H, W, float(zeta), inter_channel, device=dev, dtype=x.dtype)
        rows += _sweep(model, x, y, sampler, "lrc", zeta, epsilons, k, batch_size, seed, dev)
    return pd.DataFrame(rows, columns=COLUMNS)


def data_covariance_sampler(data_x: torch.Tensor, device=None, dtype: torch.dtype = torch.float32,
                            chunk_size: int = 1024) -> GaussianSampler:
    """N(0, Σ_data) with Σ_data the data set's centred covariance, standardized to mean diagonal 1
    (like the unit-variance LRC noise, so ε means the same). Factored by eigh (fine for d = 3072)."""
    _, C, H, W = data_x.shape
    cov = data_covariance(data_x, chunk_size)
    return GaussianSampler.from_matrix(cov, C, H, W, mean_diagonal=1.0, device=device, dtype=dtype)


def data_covariance_sweep(model: nn.Module, x: torch.Tensor, y: torch.Tensor, data_x: torch.Tensor,
                          epsilons: Sequence[float], k: int, batch_size: int, seed: int,
                          sampler: GaussianSampler | None = None) -> pd.DataFrame:
    """Worst-of-k accuracy under Gaussian noise with the data set's own covariance (Sec. 4.3),
    one row per ε; columns as ``lrc_sweep`` with noise='data', zeta NaN. ``sampler``: a prebuilt
    ``data_covariance_sampler`` (on the model's device) to reuse across models; data_x is then unused."""
    dev = model_device(model, x.device)
    if sampler is None:
        sampler = data_covariance_sampler(data_x, device=dev, dtype=x.dtype)
    return pd.DataFrame(_sweep(model, x, y, sampler, "data", float("nan"), epsilons, k, batch_size,
                               seed, dev), columns=COLUMNS)
