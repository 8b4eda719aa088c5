"""Every SGR figure renders headless from a tiny fixture, writes a real PNG, and shows the data it
was given: each test reads the figure back (panels, titles, legend entries, the plotted series)
and checks it against its input."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from advreg.figures import sgr as F
from advreg.sgr.lrc_noise import LRCSampler, perturb
from advreg.sgr.structure import lrc_matrices, perturbation_structure, shown_matrix

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 1024


def _legend(ax) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg else []


def _figure_legend(fig) -> list[str]:
    """The texts of the figure's one legend, wherever it sits (a panel, a spare cell, its own row)."""
    (leg,) = [a.get_legend() for a in fig.axes if a.get_legend() is not None] + list(fig.legends)
    return [t.get_text() for t in leg.get_texts()]


def _errorbar_lines(ax) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """label -> (x, y) of each errorbar series of an axis."""
    return {c.get_label(): tuple(np.asarray(v, dtype=float) for v in c.lines[0].get_data())
            for c in ax.containers}


@pytest.fixture(scope="module")
def images():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(6, 3, 8, 8, generator=gen), gen


@pytest.mark.parametrize("C", [1, 3])
def test_fig2_covariance(tmp_path, C, drawn):
    gen = torch.Generator().manual_seed(C)
    x = torch.rand(30, C, 8, 8, generator=gen)
    adv = {"pgd": (x + 0.03 * torch.randn(x.shape, generator=gen)).clamp(0, 1),
           "fgsm": (x + 0.03 * torch.randn(x.shape, generator=gen).sign()).clamp(0, 1)}
    arrays, table = perturbation_structure(x, adv, x)
    arrays["fgsm"]["matrix"] = None          # falls back to the stationary matrix of the kernel
    shown = {n: shown_matrix(a, C, 8, 8) for n, a in arrays.items()}
    F.fig2_covariance(arrays, shown, table, tmp_path / "fig2.png", C, 8, 8)
    _check_png(tmp_path / "fig2.png")
    fig = drawn[-1]
    panels = [a for a in fig.axes if a.images]
    assert [a.get_title() for a in panels] == list(arrays)  # one matrix per source, in order
    intra = next(a for a in fig.axes if a.get_title() == "intra-channel")
    legend = _figure_legend(fig)   # one legend, under the curves (issue 41: it sat on them)
    lengths = dict(zip(table["source"], table["decay_length"]))
    assert legend[:len(arrays)] == [f"{n} (decay {F._fmt_len(float(lengths[n]))} px)" for n in arrays]
    assert legend[len(arrays):] == (["channel R", "channel G", "channel B"] if C == 3 else [])
    if C == 1:  # the plotted profile is the source's mean intra-channel covariance function
        line = intra.get_lines()[0]  # the first source's curve (reference lines come after)
        s0 = arrays[list(arrays)[0]]
        keep = s0["r"].numpy() <= 7
        np.testing.assert_allclose(line.get_ydata(), s0["intra_mean"].numpy()[keep], rtol=1e-6)
    assert any(a.get_title() == "inter-channel" for a in fig.axes) == (C > 1)


def test_fig3_samples(tmp_path, images, drawn):
    x, gen = images
    zetas = [1.0, 4.0]
    noises = {z: LRCSampler(3, 8, 8, z).sample(2, gen) for z in zetas}
    perturbed = {z: perturb(x[:2], n, 0.3) for z, n in noises.items()}
    F.fig3_samples(x[:2], noises, perturbed, 0.3, {1.0: [2, 9], 4.0: [6, 4]}, tmp_path / "fig3s.png")
    _check_png(tmp_path / "fig3s.png")
    axes = drawn[-1].axes
    assert len(axes) == 3 * 4  # rows original/perturbed/perturbation × 2 images × 2 ζ
    bottom = axes[8:]
    assert [a.get_xlabel() for a in bottom] == ["2", "9", "6", "4"]  # the predictions given, per ζ
    assert [axes[0].get_title(loc="left"), axes[2].get_title(loc="left")] == ["ζ = 1", "ζ = 4"]
    # the perturbed row shows clip(x + ε·ξ) of exactly these images and noises
    shown = axes[4].images[0].get_array()
    want = (x[0] + 0.3 * noises[1.0][0]).clamp(0, 1).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(np.asarray(shown), want, atol=1e-6)
    footer = [t.get_text() for t in drawn[-1].texts]
    assert footer == ["footer: the class the model predicts for the perturbed image"]
    F.fig3_samples(x[:2], noises, perturbed, 0.3, {1.0: [2, 9]}, tmp_path / "fig3m.png", model_name="clean")
    # the model's name as written, not a quoted repr (issue 41: "model 'clean''s")
    assert [t.get_text() for t in drawn[-1].texts] == ["footer: the class model clean predicts for the perturbed image"]
    # greyscale and class names
    grey = {z: n[:, :1] for z, n in noises.items()}
    F.fig3_samples(x[:2, :1], grey, {z: perturb(x[:2, :1], n, 0.3) for z, n in grey.items()}, 0.3, {1.0: [2, 9]},
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


def test_fig3_accuracy_vs_zeta(tmp_path, drawn):
    df = _sweep_df()
    F.fig3_accuracy_vs_zeta(df, 0.3, tmp_path / "fig3a.png")
    _check_png(tmp_path / "fig3a.png")
    (ax,) = drawn[-1].axes
    assert _legend(ax) == ["clean", "sgr"]
    series = _errorbar_lines(ax)
    for model in ("clean", "sgr"):
        want = (df.query("noise == 'lrc' and eps == 0.3 and model == @model")
                .groupby("zeta")["worst_of_k_acc"].mean())
        xs, ys = series[model]
        np.testing.assert_allclose(xs, want.index.values)
        np.testing.assert_allclose(ys, want.values)  # the mean over seeds, at ε = 0.3 only
    # the data-covariance rows: dashed horizontal lines at their mean
    dashed = sorted(line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--")
    want = sorted(df.query("noise == 'data' and eps == 0.3").groupby("model")["worst_of_k_acc"].mean())
    np.testing.assert_allclose(dashed, want)
    with pytest.raises(ValueError):
        F.fig3_accuracy_vs_zeta(_sweep_df(), 0.77, tmp_path / "none.png")


def test_fig4_accuracy_vs_eps(tmp_path, drawn):
    df = _sweep_df()
    F.fig4_accuracy_vs_eps(df, tmp_path / "fig4.png")
    _check_png(tmp_path / "fig4.png")
    axes = [a for a in drawn[-1].axes if a.axison]
    assert [a.get_title() for a in axes] == ["LRC ζ = 1", "LRC ζ = 4", "LRC ζ = 16", "data covariance"]
    assert _figure_legend(drawn[-1]) == ["clean", "sgr"]   # in the spare panel, on no curve
    assert all(a.get_legend() is None for a in axes)
    for ax in axes:   # ticks at the two evaluated ε only (issue 41: 9 labels for 2 values)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1", "0.3"]
        np.testing.assert_allclose(ax.get_xticks(), [0.1, 0.3])
        assert not ax.xaxis.get_minorticklocs().size
    xs, ys = _errorbar_lines(axes[1])["sgr"]
    want = df.query("noise == 'lrc' and zeta == 4.0 and model == 'sgr'").groupby("eps")["worst_of_k_acc"].mean()
    np.testing.assert_allclose(xs, want.index.values)
    np.testing.assert_allclose(ys, want.values)
    lrc_only = _sweep_df().query("noise == 'lrc'").drop(columns="model")
    F.fig4_accuracy_vs_eps(lrc_only, tmp_path / "fig4b.png")
    _check_png(tmp_path / "fig4b.png")


def test_fig5_lrc_matrices(tmp_path, drawn):
    F.fig5_lrc_matrices(lrc_matrices(3, 8, 8, [1, 4, 16]), tmp_path / "fig5.png", 3, 8, 8)
    _check_png(tmp_path / "fig5.png")
    panels = [a for a in drawn[-1].axes if a.images]
    assert [a.get_title() for a in panels] == ["ζ = 1", "ζ = 4", "ζ = 16"]
    # longer decay length, longer-range correlation: the mean off-diagonal covariance grows with ζ
    means = [float(np.asarray(a.images[0].get_array()).mean()) for a in panels]
    assert means[0] < means[1] < means[2]


def test_fig6_trajectories(tmp_path, drawn):
    gen = torch.Generator().manual_seed(4)
    probs = {m: torch.softmax(torch.randn(3, 9, 10, generator=gen) * 3, -1) for m in ("clean", "sgr")}
    F.fig6_trajectories(probs, tmp_path / "fig6.png", title="where PGD changes clean's prediction")
    _check_png(tmp_path / "fig6.png")
    assert drawn[-1]._suptitle.get_text() == "where PGD changes clean's prediction"
    axes = [a for a in drawn[-1].axes if a.axison]   # the legend's own row is off
    assert len(axes) == 2 * 3  # a row per model, a column per example (3 < n_examples = 4)
    assert _figure_legend(drawn[-1])[:2] == ["class predicted on the clean image (t = 0)",
                                             "class predicted on the adversarial image (t = 1)"]
    assert [a.get_ylabel() for a in axes[::3]] == ["clean\nsoftmax", "sgr\nsoftmax"]
    for i, ax in enumerate(axes):
        model, ex = ("clean", "sgr")[i // 3], i % 3
        p = probs[model][ex]
        assert len(ax.get_lines()) == 10 and all(len(line.get_xdata()) == 9 for line in ax.get_lines())
        start, end = int(p[0].argmax()), int(p[-1].argmax())
        # the two classes named in the panel's title (the legend of colours is shared)
        assert ax.get_title().endswith(f"{start} → {end}" if end != start else f"{start} (unchanged)")
        bold = {line.get_label(): line.get_ydata() for line in ax.get_lines() if line.get_linewidth() == 2}
        np.testing.assert_allclose(bold[f"clean: {start}"], p[:, start].numpy())
        if end != start:
            np.testing.assert_allclose(bold[f"adv: {end}"], p[:, end].numpy())


def test_fig78_samples(tmp_path, images, drawn):
    x, gen = images
    xa = (x + 0.05 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    F.fig78_samples(x, xa, torch.tensor([1, 2, 3, 4, 5, 6]), [1, 2, 0, 4, 9, 6], tmp_path / "fig8.png",
                    "SGR regularized model", ncols=4)
    _check_png(tmp_path / "fig8.png")
    fig = drawn[-1]
    assert fig._suptitle.get_text() == "SGR regularized model"
    axes = np.array(fig.axes).reshape(4, 4)  # 2 blocks × (clean row, PGD row), 4 columns
    clean = [a.get_title() for a in axes[0]] + [a.get_title() for a in axes[2][:2]]
    adv = [a.get_title() for a in axes[1]] + [a.get_title() for a in axes[3][:2]]
    assert clean == ["1", "2", "3", "4", "5", "6"] and adv == ["1", "2", "0", "4", "9", "6"]
    red = [a.title.get_color() == "red" for a in list(axes[1]) + list(axes[3][:2])]
    assert red == [False, False, True, False, True, False]  # red exactly where the prediction changed
    assert not axes[2][2].axison and not axes[3][3].axison  # the unused cells are blank


def test_trajectory_examples_are_those_the_attack_flips():
    """Fig. 6 shows images where PGD changes the reference model's prediction (flat lines on
    images where it fails would hide the paper's point)."""
    from advreg.jobs.sgr_analysis import flipped_examples

    class Threshold(torch.nn.Module):  # class 1 iff the mean pixel exceeds 0.5
        def forward(self, x):
            m = x.flatten(1).mean(1, keepdim=True)
            return torch.cat([0.5 - m, m - 0.5], 1)

    x = torch.full((6, 1, 2, 2), 0.4)
    x_adv = x.clone()
    x_adv[[1, 4]] = 0.6  # only images 1 and 4 change class
    idx, n = flipped_examples(Threshold(), x, x_adv, 3)
    assert idx == [1, 4, 0] and n == 2
