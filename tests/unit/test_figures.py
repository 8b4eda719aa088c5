"""The pipeline's other figures (advreg.figures.common, advreg.figures.sn) show what they were given and
cannot mislead: distinct colours per model, heat-map scales fitted to the values with every value
printed, a β = ∞ winner labelled "no SN", legends and tick labels that do not collide."""
from __future__ import annotations

import math

import matplotlib.colors
import numpy as np
import pandas as pd
from conftest import boxes_overlap, laid_out, tick_label_overlaps

from advreg.figures import common as plots
from advreg.figures import sn as sn_figures


def _history(seed):
    r = np.random.default_rng(seed)
    return pd.DataFrame({"epoch": [1, 2, 3], "loss": r.uniform(0.1, 1, 3), "train_acc": r.uniform(0.5, 1, 3),
                         "val_acc": r.uniform(0.5, 1, 3)})


def test_training_curves_give_each_of_thirteen_models_its_own_colour_and_marker(tmp_path, drawn):
    """Issue 41: tab20's light/dark pairs made 12 lines read as 6; each model now has a colour of a
    qualitative palette without pairs and its own marker."""
    models = [f"m{i}" for i in range(13)]
    hist = {m: _history(i) for i, m in enumerate(models)}
    plots.training_curves(hist, tmp_path / "c.png")
    ax_loss, ax_acc = drawn[-1].axes
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in ax_loss.get_lines()]
    assert len(set(colours)) == 13
    assert len({line.get_marker() for line in ax_loss.get_lines()}) == 13
    # no colour is a lighter twin of another (tab20's pairs): every two differ in hue or in lightness by a lot
    hsv = matplotlib.colors.rgb_to_hsv(np.array([matplotlib.colors.to_rgb(c) for c in colours]))
    for i in range(13):
        for j in range(i + 1, 13):
            dh = abs(hsv[i, 0] - hsv[j, 0])
            same_hue = min(dh, 1 - dh) < 0.02 and min(hsv[i, 1], hsv[j, 1]) > 0.2
            assert not (same_hue and abs(hsv[i, 2] - hsv[j, 2]) + abs(hsv[i, 1] - hsv[j, 1]) < 0.5), (colours[i], colours[j])
    legend = [t.get_text() for t in ax_loss.get_legend().get_texts()]
    assert legend == models + ["validation (solid)", "train (dashed)"]
    val_lines = [line for line in ax_acc.get_lines() if line.get_linestyle() == "-"]
    for line, m in zip(val_lines, models):
        np.testing.assert_allclose(line.get_ydata(), 100 * hist[m]["val_acc"])


def test_training_curves_share_a_methods_style_across_its_seeds(tmp_path, drawn):
    """The pipeline labels histories 'method (seed s)': a method's seeds share its colour and marker
    and the legend names each method once."""
    hist = {f"{m} (seed {s})": _history(3 * i + s) for i, m in enumerate(("clean", "gn")) for s in (0, 1)}
    plots.training_curves(hist, tmp_path / "c.png")
    ax_loss = drawn[-1].axes[0]
    styles = [(matplotlib.colors.to_hex(line.get_color()), line.get_marker()) for line in ax_loss.get_lines()]
    assert styles[0] == styles[1] and styles[2] == styles[3] and styles[0] != styles[2]
    legend = ax_loss.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["clean", "gn", "validation (solid)", "train (dashed)"]
    assert legend.get_title().get_text() == "one line per seed"


def test_heatmap_scale_is_the_tables_fixed_accuracy_scale_and_prints_each(tmp_path, drawn):
    """Issue 41: the accuracy colours of the tables (0-100, fixed), not viridis over the data's range."""
    df = pd.DataFrame([[99.0, 67.5, 90.1], [98.2, 80.0, 71.3]], index=["a", "b"], columns=["test", "a", "b"])
    plots.matrix_heatmap(df, tmp_path / "h.png")
    ax = drawn[-1].axes[0]
    im = ax.images[0]
    assert (im.norm.vmin, im.norm.vmax) == (0.0, 100.0) and im.cmap.name == "RdYlGn_banded"
    texts = [t.get_text() for t in ax.texts]
    assert texts == [f"{v:.1f}" for v in df.to_numpy().ravel()]
    bold = [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"]
    assert bold == ["67.5", "71.3"]  # the white-box diagonal (row a × column a, row b × column b)


def _best(beta_star_fgm):
    return pd.DataFrame({"scheme": ["ERM", "FGM"], "beta_star": ["2", beta_star_fgm],
                         "gap_no_sn": [0.05, 0.10], "gap_sn": [0.03, 0.10],
                         "test_adv_acc_no_sn": [0.9, 0.6], "test_adv_acc_sn": [0.91, 0.6]})


def _the_legend(fig):
    (legend,) = [a.get_legend() for a in fig.axes if a.get_legend() is not None] + list(fig.legends)
    return legend


def test_gap_figure_draws_a_beta_star_of_infinity_once(tmp_path, drawn):
    """β* = ∞: the validation kept the no-SN model, so the 'two' bars would be one model: drawn once,
    labelled; the regime note from the claims register is printed under the plot."""
    sn_figures.gap_figure(_best("inf"), tmp_path / "g.png", regime="ERM gap 10.2 (paper 1.2): OUTSIDE")
    fig = drawn[-1]
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["ERM\nβ* = 2", "FGM\nβ* = ∞"]
    legend = [t.get_text() for t in _the_legend(fig).get_texts()]
    assert legend == ["no SN (β = ∞)", "SN at the validation's β*", "β* = ∞: SN not chosen (one model, one bar)"]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [5, 3, 10])   # in points: ERM no SN, SN; FGM one bar
    # the one legend sits in its own row under the panels, on no bar
    renderer = laid_out(fig)
    box = _the_legend(fig).get_window_extent(renderer)
    assert all(box.y1 <= a.get_window_extent(renderer).y0 for a in fig.axes[:2])
    # when every β* is ∞ only the drawn (hatched) bars are in the legend
    sn_figures.gap_figure(_best("inf").assign(beta_star=["inf", "inf"]), tmp_path / "g2.png")
    assert [t.get_text() for t in _the_legend(drawn[-1]).get_texts()] == ["β* = ∞: SN not chosen (one model, one bar)"]
    assert any("Regime (claims register): ERM gap 10.2" in t.get_text() for t in fig.texts)
    assert (tmp_path / "g.svg").stat().st_size > 0   # the vector twin beside the PNG


def test_gap_figure_labels_the_papers_values(tmp_path, drawn):
    """Issue 41: the paper's numbers were unlabelled black ticks. Each is now a diamond with its value
    printed above it (a pair at the two bars' places; one in the middle where the paper's β* is ∞),
    named in the legend, and the tick labels give the paper's β* beside the run's."""
    best = _best("inf").assign(paper_beta_star=["inf", "4.0"], paper_gap_no_sn=[0.012, 0.14],
                               paper_gap_sn=[0.012, 0.06], paper_test_no_sn=[0.99, 0.85],
                               paper_test_sn=[0.99, 0.90])
    sn_figures.gap_figure(best, tmp_path / "g.png")
    fig = drawn[-1]
    ax_gap, ax_test = fig.axes[:2]
    assert [t.get_text() for t in ax_gap.get_xticklabels()] == ["ERM\nβ* = 2\n(paper ∞)", "FGM\nβ* = ∞\n(paper 4)"]
    for ax, want in ((ax_gap, ["1.2", "14.0", "6.0"]), (ax_test, ["99.0", "85.0", "90.0"])):
        assert [t.get_text() for t in ax.texts] == want
        diamonds = [line for line in ax.get_lines() if line.get_marker() == "D"]
        # ERM (paper β* = ∞): one diamond at the scheme's centre; FGM: one per bar
        np.testing.assert_allclose([line.get_xdata()[0] for line in diamonds], [0.0, 1 - 0.19, 1 + 0.19])
        np.testing.assert_allclose([line.get_ydata()[0] for line in diamonds], [float(v) for v in want])
    assert "paper (Farnia et al. 2019), value above" in [t.get_text() for t in _the_legend(fig).get_texts()]


def _sweep():
    rows = []
    for scheme in ("ERM", "FGM"):
        for beta in ("1", "2", "inf"):
            rows.append({"scheme": scheme, "beta": beta, "train_adv_acc": 0.9, "test_adv_acc": 0.8,
                         "gap": 0.1, "spectral_product": 10.0 ** (1 + len(beta))})
    df = pd.DataFrame(rows)
    df["scheme"] = pd.Categorical(df["scheme"], ["ERM", "FGM"])
    return df


def test_beta_sweep_legend_does_not_cover_the_last_panel(tmp_path, drawn):
    sn_figures.beta_sweep_figure(_sweep(), tmp_path / "b.png")
    fig = drawn[-1]
    renderer = laid_out(fig)
    last = fig.axes[-1]
    assert last.get_title() == "∏ layer spectral norms"
    # β ticks at the evaluated β only, ∞ written as ∞ (issue 41: 'inf')
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "∞"]
    legend = last.get_legend().get_window_extent(renderer)
    assert not boxes_overlap(legend, last.get_window_extent(renderer))
    assert [t.get_text() for t in last.get_legend().get_texts()] == ["ERM", "FGM"]


def test_margin_tick_labels_do_not_overlap(tmp_path, drawn):
    r = np.random.default_rng(0)
    rows, margins = [], []
    for beta in ("1", "4", "inf"):
        rows.append({"scheme": "FGM", "beta": beta, "normalizer": 1.0})
        margins.append(r.lognormal(mean=math.log(10.0 ** (2 * len(beta))), sigma=2.0, size=200))
    best = pd.DataFrame({"scheme": ["FGM"], "beta_star": ["4"]})
    sn_figures.margins_figure(rows, margins, best, tmp_path / "m.png")
    fig = drawn[-1]
    laid_out(fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "4*", "∞"]
    shown = [t for t in ax.get_yticklabels()
             if t.get_visible() and t.get_text() and ax.get_ylim()[0] <= t.get_position()[1] <= ax.get_ylim()[1]]
    assert len(shown) >= 2 and not tick_label_overlaps(fig)


def test_training_curves_tick_whole_epochs(tmp_path, drawn):
    hist = {"a": pd.DataFrame({"epoch": [1, 2, 3, 4], "loss": [1, .5, .3, .2], "train_acc": [.5, .6, .7, .8],
                               "val_acc": [.5, .6, .7, .8]})}
    plots.training_curves(hist, tmp_path / "c.png")
    fig = drawn[-1]
    ticks = [t for t in fig.axes[1].get_xticks() if 1 <= t <= 4]
    assert ticks and all(float(t).is_integer() for t in ticks)
    renderer = laid_out(fig)   # the legend sits beside the panels, on no line
    legend = fig.axes[0].get_legend().get_window_extent(renderer)
    assert not any(boxes_overlap(legend, ax.get_window_extent(renderer)) for ax in fig.axes)


def test_accuracy_vs_eps_plots_each_models_sweep(tmp_path, drawn):
    curves = {m: [{"eps_255": e, "paper_attack": base - e / 2, "strong": base - e, "seed": s}
                  for s in (0, 1) for e in (8, 32, 128)] for m, base in (("clean", 90.0), ("gn", 95.0))}
    plots.accuracy_vs_eps(curves, tmp_path / "a.png", paper_eps=32)
    axes = [a for a in drawn[-1].axes if a.axison]
    assert [a.get_title() for a in axes] == ["clean", "gn"]
    lines = [line for line in axes[1].get_lines() if len(line.get_xdata()) == 3]
    assert len(lines) == 4  # paper PGD and strong, per seed
    blue = [line for line in lines if line.get_color() == "tab:blue"]
    np.testing.assert_allclose(blue[0].get_xdata(), [8, 32, 128])
    np.testing.assert_allclose(blue[0].get_ydata(), [91.0, 79.0, 31.0])
    assert [t.get_text() for t in _the_legend(drawn[-1]).get_texts()] == ["paper PGD", "strong", "chance (10 %)",
                                                                           "paper ε (32)"]
    # ε ticks at the evaluated values only, written as numbers (not 10¹, 10²)
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["8", "32", "128"]
    assert not axes[0].xaxis.get_minorticklocs().size


def test_the_overlap_check_finds_crowded_tick_labels():
    """The check every figure test runs after drawing (tests/conftest.py `drawn`) is not vacuous."""
    from conftest import tick_label_overlaps
    fig, ax = plots.plt.subplots(figsize=(2, 2))
    ax.set_xticks(range(20), [f"label {i}" for i in range(20)])
    assert tick_label_overlaps(fig)
    ax.set_xticks(range(0, 20, 10), ["0", "10"])
    assert not tick_label_overlaps(fig)
    plots.plt.close(fig)
