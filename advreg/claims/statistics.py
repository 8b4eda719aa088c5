"""Uncertainty over seeds: mean and the half-width of its Student-t confidence interval."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats


def mean_ci(values, level: float = 0.95) -> tuple[float, float, int]:
    """(mean, half-width, n) of the ``level`` t-interval of the mean of ``values`` (NaNs dropped).
    One value has no interval: half-width NaN."""
    v = np.asarray([float(a) for a in values], dtype=float)
    v = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(v[0]), math.nan, 1
    half = stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / math.sqrt(n)
    return float(v.mean()), float(half), n


def fmt_ci(mean: float, half: float, digits: int = 1) -> str:
    """'72.3 ± 4.1' (or '72.3' when there is no interval)."""
    if math.isnan(mean):
        return "–"
    return f"{mean:.{digits}f}" if math.isnan(half) else f"{mean:.{digits}f} ± {half:.{digits}f}"
