"""Every SGR figure renders headless from a tiny fixture and writes a real PNG."""
from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from advreg import sgr_figures as F
from advreg.lrc import LRCSampler
from advreg.structure import perturbation_structure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 1024


@pytest.fixture(scope="module")
def images():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(6, 3, 8, 8, generator=gen), gen


@pytest.mark.parametrize("C", [1, 3])
def test_fig2_covariance(tmp_path, C):
    gen = torch.Generator().manual_seed(C)
    x = torch.rand(30, C, 8, 8, generator=gen)
    adv = {"pgd": (x + 0.03 * torch.randn(x.shape, generator=gen)).clamp(0, 1),
           "fgsm": (x + 0.03 * torch.randn(x.shape, generator=gen).sign()).clamp(0, 1)}
    arrays, table = perturbation_structure(x, adv, x)
    arrays["fgsm"]["matrix"] = None          # falls back to the stationary matrix of the kernel
    F.fig2_covariance(arrays, table, tmp_path / "fig2.png", C, 8, 8)
    _check_png(tmp_path / "fig2.png")


def test_fig3_samples(tmp_path, images):
    x, gen = images
    zetas = [1.0, 4.0]
    noises = {z: LRCSampler(3, 8, 8, z).sample(2, gen) for z in zetas}
    F.fig3_samples(x[:2], noises, 0.3, {1.0: [2, 9], 4.0: [6, 4]}, tmp_path / "fig3s.png")
    _check_png(tmp_path / "fig3s.png")
    # greyscale and class names
    F.fig3_samples(x[:2, :1], {z: n[:, :1] for z, n in noises.items()}, 0.3, {1.0: [2, 9]},
                   tmp_path / "fig3g.png", class_names=[str(i) for i in range(10)])
    _check_png(tmp_path / "fig3g.png")


def _sweep_df():
    rows = []
    for model, base in (("clean", 40.0), ("sgr", 60.0)):
        for seed in (0, 1):
            for zeta in (1.0, 4.0, 16.0):
                for eps in (0.1, 0.3):
                    rows.append({"model": model, "noise": "lrc", "zeta": zeta, "eps": eps, "k": 10,
                                 "worst_of_k_acc": base - 10 * eps * math.log2(zeta + 1) + seed,
                                 "mean_single_acc": base + 5, "n": 100, "seed": seed})
            for eps in (0.1, 0.3):
                rows.append({"model": model, "noise": "data", "zeta": float("nan"), "eps": eps, "k": 10,
                             "worst_of_k_acc": base - 20 * eps, "mean_single_acc": base, "n": 100,
                             "seed": seed})
    return pd.DataFrame(rows)


def test_fig3_accuracy_vs_zeta(tmp_path):
    F.fig3_accuracy_vs_zeta(_sweep_df(), 0.3, tmp_path / "fig3a.png")
    _check_png(tmp_path / "fig3a.png")
    with pytest.raises(ValueError):
        F.fig3_accuracy_vs_zeta(_sweep_df(), 0.77, tmp_path / "none.png")


def test_fig4_accuracy_vs_eps(tmp_path):
    F.fig4_accuracy_vs_eps(_sweep_df(), tmp_path / "fig4.png")
    _check_png(tmp_path / "fig4.png")
    lrc_only = _sweep_df().query("noise == 'lrc'").drop(columns="model")
    F.fig4_accuracy_vs_eps(lrc_only, tmp_path / "fig4b.png")
    _check_png(tmp_path / "fig4b.png")


def test_fig5_lrc_matrices(tmp_path):
    F.fig5_lrc_matrices(3, 8, 8, [1, 4, 16], tmp_path / "fig5.png")
    _check_png(tmp_path / "fig5.png")


def test_fig6_trajectories(tmp_path):
    gen = torch.Generator().manual_seed(4)
    probs = {m: torch.softmax(torch.randn(3, 9, 10, generator=gen) * 3, -1) for m in ("clean", "sgr")}
    F.fig6_trajectories(probs, tmp_path / "fig6.png")
    _check_png(tmp_path / "fig6.png")


def test_fig78_samples(tmp_path, images):
    x, gen = images
    xa = (x + 0.05 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    F.fig78_samples(x, xa, torch.tensor([1, 2, 3, 4, 5, 6]), [1, 2, 0, 4, 9, 6], tmp_path / "fig8.png",
                    "SGR regularized model", ncols=4)
    _check_png(tmp_path / "fig8.png")
