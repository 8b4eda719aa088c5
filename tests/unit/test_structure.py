"""Covariance structure of perturbations (SGR Sec. 4.2): structure_of, perturbation_structure, crops."""
from __future__ import annotations

import math

import pytest
import torch

from advreg.sgr.covariance import covariance_function_to_matrix, second_moment_matrix
from advreg.sgr.lrc_noise import LRCSampler, lrc_covariance_function
from advreg.sgr.structure import (center_crop_matrix, chunked_second_moment_matrix, crop_indices,
                                  perturbation_structure, structure_of)

DT = torch.float64


def _lrc(C, H, W, zeta, n, seed):
    return LRCSampler(C, H, W, zeta, dtype=DT).sample(n, generator=torch.Generator().manual_seed(seed))


def test_chunked_second_moment_matches_direct():
    xi = torch.randn(37, 2, 3, 4, generator=torch.Generator().manual_seed(0), dtype=DT)
    torch.testing.assert_close(chunked_second_moment_matrix(xi, chunk_size=5), second_moment_matrix(xi))
    torch.testing.assert_close(chunked_second_moment_matrix(xi.float(), chunk_size=8),
                               second_moment_matrix(xi), rtol=1e-5, atol=1e-6)


def test_structure_recovers_lrc_generating_function_and_decay_length():
    """A stationary field with known ζ = 4: the estimated kernel matches exp(−r/ζ)·Cch near the
    origin, the inter-channel profile sits at 0.5 of the intra one, and the decay length at 1/e
    recovers ζ (ζ = 4 avoids the rounded-radius bias of small ζ, see covariance.py)."""
    C, H, W, zeta = 3, 16, 16, 4.0
    s = structure_of(_lrc(C, H, W, zeta, 1500, 0), fraction=math.exp(-1))
    true = lrc_covariance_function(C, H, W, zeta, dtype=DT)
    c = slice(H - 1 - 5, H + 5)
    assert float((s["kernel"] - true)[:, :, c, c].abs().max()) < 0.06
    assert s["decay_length"] == pytest.approx(zeta, abs=0.35)
    assert s["peak"] == pytest.approx(1.0, abs=0.05)
    assert s["inter_peak"] / float(s["intra_peak"].mean()) == pytest.approx(0.5, abs=0.05)
    assert float(s["inter_rel"][0]) == pytest.approx(0.5, abs=0.05)
    assert s["intra"].shape == (C, s["r"].numel()) and s["inter"].shape == s["r"].shape
    torch.testing.assert_close(s["intra"][:, 0], torch.ones(C, dtype=DT))
    assert float(s["intra_mean"][0]) == pytest.approx(1.0)
    assert s["matrix"].shape == (C * H * W,) * 2
    # the full matrix estimate is near the stationary matrix of the generating function
    assert float((s["matrix"] - covariance_function_to_matrix(true, H, W)).abs().mean()) < 0.05


def test_structure_orders_iid_short_and_lrc_long():
    C, H, W = 1, 16, 16
    iid = torch.randn(600, C, H, W, generator=torch.Generator().manual_seed(1), dtype=DT)
    s_iid = structure_of(iid)
    s_lrc = structure_of(_lrc(C, H, W, 6.0, 600, 2))
    assert s_iid["inter"] is None and s_iid["inter_peak"] is None
    assert s_iid["decay_length"] < 1.0
    assert 4.5 < s_lrc["decay_length"] < 7.5
    assert s_iid["decay_length"] < s_lrc["decay_length"]
    assert structure_of(iid, matrix=False)["matrix"] is None


def test_perturbation_structure_table_and_sources():
    gen = torch.Generator().manual_seed(3)
    C, H, W = 3, 12, 12
    x = torch.rand(200, C, H, W, generator=gen, dtype=DT)
    sign = (x + 0.03 * torch.randn(x.shape, generator=gen, dtype=DT).sign()).clamp(0, 1)
    smooth = (x + 0.05 * _lrc(C, H, W, 5.0, 200, 4)).clamp(0, 1)
    arrays, table = perturbation_structure(x, {"fgsm": sign, "smooth": smooth}, x, chunk_size=64)
    assert list(arrays) == ["fgsm", "smooth", "data"]
    assert list(table["source"]) == ["fgsm", "smooth", "data"]
    for col in ("decay_length", "peak", "n", "fraction", "rms", "mean_linf", "inter_ratio"):
        assert col in table
    dl = dict(zip(table["source"], table["decay_length"]))
    assert dl["fgsm"] < 1.0 < dl["smooth"]
    assert table.set_index("source").loc["fgsm", "mean_linf"] <= 0.03 + 1e-12
    # 'data' = centred images: their second moments are the per-pixel variances (uniform: 1/12)
    assert table.set_index("source").loc["data", "peak"] == pytest.approx(1 / 12, rel=0.15)
    _, no_data = perturbation_structure(x, {"fgsm": sign}, None)
    assert list(no_data["source"]) == ["fgsm"]


def test_center_crop_matrix():
    C, H, W = 3, 8, 12
    d = C * H * W
    m = torch.randn(d, d, generator=torch.Generator().manual_seed(5), dtype=DT)
    m = m + m.T
    crop = center_crop_matrix(m, C, H, W)
    h, w = H - 2 * 2, W - 2 * 3
    assert crop.shape == (C * h * w, C * h * w)
    assert float(crop.abs().max()) == pytest.approx(1.0)
    # entries are the matrix restricted to the crop pixels (row-major (c, r, s)), rescaled
    idx = crop_indices(C, H, W)
    assert int(idx[0]) == 2 * W + 3 and int(idx[w]) == 3 * W + 3 and int(idx[h * w]) == H * W + 2 * W + 3
    sub = m[idx][:, idx]
    torch.testing.assert_close(crop, sub / sub.abs().max())
    assert center_crop_matrix(m.numpy(), C, H, W, trim=0.0).shape == (d, d)
    with pytest.raises(ValueError):
        center_crop_matrix(m[:-1, :-1], C, H, W)
