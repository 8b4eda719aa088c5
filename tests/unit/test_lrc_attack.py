"""Worst-of-k LRC attack (SGR Sec. 4.3) and softmax trajectories (Fig. 6)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from advreg.attacks.lrc import COLUMNS, data_covariance_sweep, lrc_sweep, worst_of_k_accuracy
from advreg.attacks.trajectories import softmax_along_line
from advreg.nn.layers import PerImageStandardize
from advreg.nn.models import build_model
from advreg.nn.predict import accuracy, predicted_labels
from advreg.sgr.lrc_noise import LRCSampler, perturb

C, S = 1, 16


@pytest.fixture(scope="module")
def setup():
    # a randomly initialised CW CNN is nearly constant; a linear classifier's decisions do move
    torch.manual_seed(0)
    model = nn.Sequential(PerImageStandardize(), nn.Flatten(), nn.Linear(C * S * S, 10)).eval()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(40, C, S, S, generator=gen)
    y = predicted_labels(model, x)           # clean accuracy 100 %
    y[:4] = (y[:4] + 1) % 10                 # ... minus 4 points: 90 %
    return model, x, y


def test_worst_of_k_bounds_and_k1(setup):
    model, x, y = setup
    sampler = LRCSampler(C, S, S, 2.0)
    res = worst_of_k_accuracy(model, x, y, sampler.sample, 0.5, 5, 16, torch.Generator().manual_seed(7))
    assert len(res["single"]) == 5
    assert res["worst"] <= min(res["single"]) + 1e-9
    # worst-of-k written out: a point counts only if all k draws (draw-major, batch by batch) are
    # classified correctly
    gen = torch.Generator().manual_seed(7)
    correct = torch.ones(40, dtype=torch.bool)
    for _ in range(5):
        noisy = torch.cat([perturb(x[s:s + 16], sampler.sample(x[s:s + 16].shape[0], gen), 0.5)
                           for s in range(0, 40, 16)])
        correct &= predicted_labels(model, noisy) == y
    assert res["worst"] == pytest.approx(100 * correct.float().mean().item())
    assert res["worst"] < 90.0               # strong noise flips something
    # k = 1 equals the accuracy under one draw with the same seed (same batching, same order)
    one = worst_of_k_accuracy(model, x, y, sampler.sample, 0.5, 1, 16, torch.Generator().manual_seed(7))
    gen = torch.Generator().manual_seed(7)
    manual = [perturb(x[s:s + 16], sampler.sample(x[s:s + 16].shape[0], gen), 0.5) for s in range(0, 40, 16)]
    direct = 100 * accuracy(model, torch.cat(manual), y)
    assert one["worst"] == pytest.approx(one["single"][0]) == pytest.approx(direct)
    assert one["single"][0] == pytest.approx(res["single"][0])   # draw-major: draw 0 is shared by every k
    more = worst_of_k_accuracy(model, x, y, sampler.sample, 0.5, 8, 16, torch.Generator().manual_seed(7))
    assert more["single"][:5] == pytest.approx(res["single"]) and more["worst"] <= res["worst"]
    # ε = 0: every copy is the clean image
    clean = worst_of_k_accuracy(model, x, y, sampler.sample, 0.0, 3, 16, torch.Generator().manual_seed(7))
    assert clean["worst"] == pytest.approx(100 * accuracy(model, x, y)) == pytest.approx(90.0)
    assert clean["single"] == pytest.approx([90.0] * 3)


def test_lrc_sweep_columns_and_determinism(setup):
    model, x, y = setup
    kw = dict(zetas=[1.0, 4.0], epsilons=[0.0, 0.2], k=3, batch_size=25, seed=11)
    df = lrc_sweep(model, x, y, **kw)
    assert list(df.columns) == COLUMNS and len(df) == 4
    assert set(df["noise"]) == {"lrc"} and (df["n"] == 40).all() and (df["k"] == 3).all()
    assert (df["worst_of_k_acc"] <= df["mean_single_acc"] + 1e-9).all()
    assert df[df["eps"] == 0.0]["worst_of_k_acc"].tolist() == pytest.approx([90.0, 90.0])
    again = lrc_sweep(model, x, y, **{**kw, "zetas": [4.0], "epsilons": [0.2]})
    assert float(again["worst_of_k_acc"].iloc[0]) == float(df.iloc[3]["worst_of_k_acc"])


def test_data_covariance_sweep(setup):
    model, x, y = setup
    data = torch.rand(200, C, S, S, generator=torch.Generator().manual_seed(2))
    df = data_covariance_sweep(model, x, y, data, [0.0, 0.3], k=2, batch_size=40, seed=0)
    assert list(df.columns) == COLUMNS and len(df) == 2
    assert set(df["noise"]) == {"data"} and df["zeta"].isna().all()
    assert float(df.iloc[0]["worst_of_k_acc"]) == pytest.approx(90.0)
    assert float(df.iloc[1]["worst_of_k_acc"]) <= float(df.iloc[1]["mean_single_acc"])


def test_softmax_along_line_endpoints(setup):
    _, x, _ = setup
    torch.manual_seed(0)
    model = build_model("cw", C, S, [4, 4, 8, 8, 16, 16]).eval()
    xa = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))).clamp(0, 1)
    probs = softmax_along_line(model, x[:6], xa[:6], steps=7, batch_size=10)
    assert probs.shape == (6, 7, 10)
    torch.testing.assert_close(probs.sum(-1), torch.ones(6, 7))
    with torch.no_grad():
        torch.testing.assert_close(probs[:, 0], torch.softmax(model(x[:6]), 1), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(probs[:, -1], torch.softmax(model(xa[:6]), 1), rtol=1e-5, atol=1e-6)
        mid = torch.softmax(model(x[:6] + 0.5 * (xa[:6] - x[:6])), 1)
    torch.testing.assert_close(probs[:, 3], mid, rtol=1e-4, atol=1e-5)
    assert not math.isnan(float(probs.sum()))


def test_data_noise_factor_is_computed_once_and_reused(setup, tmp_path, synthetic_digits):
    """Issue 30: the data-covariance noise's eigendecomposition is one artifact per dataset
    (advreg.jobs.sgr_analysis.data_noise_factor); a sweep with the stored factor equals a sweep
    that factors the covariance itself."""
    from conftest import write_digits_artifact

    from advreg.attacks.lrc import data_covariance_sampler
    from advreg.data.artifact import load_dataset, to_float
    from advreg.jobs.sgr_analysis import data_noise_factor
    from advreg.sgr.lrc_noise import GaussianSampler

    art = write_digits_artifact(tmp_path / "mnist.pt", synthetic_digits, 400, 600)
    data_noise_factor(art, 300, tmp_path / "noise.pt")
    blob = torch.load(tmp_path / "noise.pt", weights_only=True)
    x_data = to_float(load_dataset(art, "cpu", parts=("train",))["x_train"][:300])
    torch.testing.assert_close(blob["factor"], data_covariance_sampler(x_data).factor, rtol=0, atol=0)
    assert tuple(blob["shape"]) == (1, 28, 28) and blob["max_data"] == 300

    model, x, y = setup
    data = torch.rand(200, C, S, S, generator=torch.Generator().manual_seed(2))
    inline = data_covariance_sweep(model, x, y, data, [0.3], k=2, batch_size=40, seed=0)
    stored = GaussianSampler(data_covariance_sampler(data).factor.clone(), C, S, S)
    reused = data_covariance_sweep(model, x, y, None, [0.3], k=2, batch_size=40, seed=0, sampler=stored)
    assert inline.equals(reused)
