"""Figures. Every function takes data, writes one figure (a PNG and its SVG twin), and uses the Agg
backend (no display)."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullLocator  # noqa: E402

from advreg.base.atomic import atomic_path  # noqa: E402
from advreg.base.text import special_number  # noqa: E402


def save_figure(fig, path, note: str = "") -> None:
    """Write the figure; a ``note`` (a synthetic stand-in's label, advreg.data.stand_in) is printed in red
    across its top, so the image cannot be shown without it."""
    if note:   # wrapped here to the figure's width (matplotlib's wrap=True sizes the tight box wrongly)
        import textwrap
        width = max(20, int(fig.get_figwidth() * 72 / (11 * 0.62)))
        fig.text(0.5, 1.0, textwrap.fill(note, width), ha="center", va="bottom", color="red", fontsize=11,
                 fontweight="bold", transform=fig.transFigure)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a 150-dpi PNG for the report and the same figure as vector graphics beside it (<name>.svg,
    # a declared output of every figure rule), both written atomically
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", format="png")
    with atomic_path(path.with_suffix(".svg")) as tmp:
        fig.savefig(tmp, bbox_inches="tight", format="svg", metadata={"Date": None})
    plt.close(fig)


# Legibility (issue 41): the report shows a PNG W px wide at min(900, W) px, so s-point text saved at
# 150 dpi is seen at s·150/72·min(1, 900/W) px; every text is kept at 9 px or more there
# (tests/unit/test_figure_legibility.py draws each figure and checks every text it draws). Figures
# are therefore narrow (≈ 6-10 inches), wrap panels into rows, and use fonts of 8 pt or more.
REPORT_PX, MIN_TEXT_PX, DPI = 900, 9, 150

# a qualitative palette without light/dark pairs (tab20's pairs read as one colour): tab10, then
# black, navy, magenta and teal; each model also gets its own marker (``distinct_markers``)
QUALITATIVE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf", "#000000", "#000075", "#f032e6", "#469990")
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p", "d", "8")


def distinct_colors(n: int) -> list:
    """n colours no two of which are the same, none a lighter twin of another (up to 14; beyond,
    samples of a continuous map)."""
    if n <= len(QUALITATIVE):
        return list(QUALITATIVE[:n])
    cmap = plt.get_cmap("turbo")
    return [cmap(i / (n - 1)) for i in range(n)]


def distinct_markers(n: int) -> list:
    """n markers, distinct up to 14 (then repeating)."""
    return [MARKERS[i % len(MARKERS)] for i in range(n)]


def num_label(v) -> str:
    """A number as a figure prints it: 1.0 → '1', 0.05 → '0.05', inf or 'inf' → '∞' (never a
    Python repr); anything else as its string."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return special_number(f) or f"{f:g}"


def evaluated_ticks(ax, values, axis: str = "x", rotation: float = 0, fontsize: float | None = None) -> list:
    """Major ticks at exactly the evaluated ``values`` (no minor ticks, no ticks between them),
    labelled as plain numbers (∞ for inf). Returns the sorted values."""
    vals = sorted({float(v) for v in values})
    labels = [num_label(v) for v in vals]
    a = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xticks if axis == "x" else ax.set_yticks)(vals, labels, rotation=rotation, fontsize=fontsize)
    a.set_minor_locator(NullLocator())
    return vals


def log_if_wide(ax, values, axis: str = "x", ratio: float = 10.0) -> None:
    """A log scale where the evaluated values span ``ratio`` or more (0.01-0.7), else linear."""
    vals = [float(v) for v in values if float(v) > 0]
    if vals and max(vals) / min(vals) >= ratio:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def thin_tick_labels(fig, axes, axis: str = "x", keep=()) -> None:
    """Blank the tick labels of ``axes`` that would overlap a label already kept (the ticks stay):
    the values in ``keep`` are kept first, then the rest from the left (bottom). Lays the figure
    out to measure the labels."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    keep = [float(k) for k in keep]
    for ax in axes:
        a = ax.xaxis if axis == "x" else ax.yaxis
        ticks = list(a.get_majorticklocs())
        labels = a.get_ticklabels()
        if len(labels) != len(ticks):
            continue
        boxes = {i: lab.get_window_extent(renderer).expanded(1.1, 1.1) for i, lab in enumerate(labels)
                 if lab.get_text()}
        order = ([i for i, t in enumerate(ticks) if any(math.isclose(t, k) for k in keep)]
                 + list(range(len(ticks))))
        kept: list[int] = []
        for i in dict.fromkeys(order):
            if i in boxes and not any(boxes[i].overlaps(boxes[k]) for k in kept):
                kept.append(i)
        texts = [lab.get_text() if i in kept else "" for i, lab in enumerate(labels)]
        (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, texts, rotation=labels[0].get_rotation(),
                                                          fontsize=labels[0].get_fontsize())


def _method_of(label: str) -> str:
    """'clean (seed 0)' → 'clean' (the pipeline labels each history by method and seed)."""
    import re
    m = re.fullmatch(r"(.*) \(seed [^)]*\)", label)
    return m.group(1) if m else label


def training_curves(histories: dict[str, pd.DataFrame], path, title: str = "", note: str = "") -> None:
    """Loss (top) and train/validation accuracy (bottom) per epoch, one line per model, each method
    its own colour and marker, shared by its seeds (labels 'method (seed s)'; validation: the split
    carved from the training file, never the test set); one legend beside the panels."""
    from matplotlib.lines import Line2D
    methods = list(dict.fromkeys(_method_of(label) for label in histories))
    style = dict(zip(methods, zip(distinct_colors(len(methods)), distinct_markers(len(methods)))))
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(7.5, 7.0), sharex=True, layout="constrained")
    handles: dict[str, object] = {}
    for label, h in histories.items():
        method = _method_of(label)
        color, marker = style[method]
        line = ax_loss.plot(h["epoch"], h["loss"], marker=marker, ms=5, label=label, color=color)[0]
        handles.setdefault(method, line)
        ax_acc.plot(h["epoch"], 100 * h["val_acc"], marker=marker, ms=5, label=f"{label} val", color=color)
        ax_acc.plot(h["epoch"], 100 * h["train_acc"], ls="--", lw=1, marker=marker, ms=3, mfc="none",
                    color=color)
    ax_loss.set(ylabel="training loss (objective)", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)")
    for ax in (ax_loss, ax_acc):   # epochs are whole numbers: no tick at 1.25, 1.75, ...
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    # the two line styles, unmarked (every model's entry has a marker)
    styles = [Line2D([], [], color="0.35", ls="-"), Line2D([], [], color="0.35", ls="--", lw=1)]
    # one legend, beside the panels, so it covers no line: the methods, then the two line styles
    per_seed = len(histories) > len(methods)
    ax_loss.legend(list(handles.values()) + styles, methods + ["validation (solid)", "train (dashed)"],
                   loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9,
                   title="one line per seed" if per_seed else None, title_fontsize=9)
    if title:
        fig.suptitle(title)
    save_figure(fig, path, note)


def matrix_heatmap(df: pd.DataFrame, path, title: str = "", note: str = "") -> None:
    """Accuracy matrix (rows: model attacked; columns: test, then source of the examples), coloured
    as the tables colour an accuracy (advreg.figures.cells): one fixed 0-100 scale in bands of 10
    points, red to green, never stretched to the matrix's own range (a figure beside a table, or
    beside another run's figure, means the same by the same colour); every cell prints its value."""
    import numpy as np

    from advreg.figures.cells import ACCURACY_CMAP, ACCURACY_NORM, text_colour

    values = df.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * values.shape[1], 0.9 + 0.5 * values.shape[0]))
    im = ax.imshow(values, cmap=ACCURACY_CMAP, norm=ACCURACY_NORM)
    ax.set_xticks(range(values.shape[1]), df.columns, rotation=45, ha="right")
    ax.set_yticks(range(values.shape[0]), df.index)
    ax.set_xlabel("source of the adversarial examples (diagonal: white-box)")
    ax.set_ylabel("model attacked")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7,
                    color=text_colour(ACCURACY_CMAP(ACCURACY_NORM(v))) if np.isfinite(v) else "black",
                    fontweight="bold" if j >= 1 and df.columns[j] == df.index[i] else "normal")
    fig.colorbar(im, ax=ax, label="accuracy (%): fixed scale 0-100, bands of 10 points",
                 ticks=np.linspace(0, 100, 11))
    if title:
        ax.set_title(title)
    save_figure(fig, path, note)


def legend_in_spare_cell(axes, n_used: int, handles, labels, fontsize: float = 9, **kw) -> None:
    """The legend in the first unused panel of the grid ``axes`` (turned off), else beside the
    top-right panel: never on a plotted panel."""
    spare = list(axes.flat)[n_used:]
    if spare:
        spare[0].legend(handles, labels, loc="center", fontsize=fontsize, frameon=False, **kw)
    else:
        axes[0, -1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=fontsize, **kw)


def accuracy_vs_eps(curves: dict[str, list[dict]], path, paper_eps: float, chance: float = 10.0,
                    title: str = "", note: str = "") -> None:
    """Gradient-masking check (Carlini et al. 2019): accuracy vs ε per model under the paper's PGD
    and the strong ensemble; ``curves``: model -> [{eps_255, paper_attack, strong}, ...] (one list
    per seed concatenated: each seed is one faint line). Three panels a row; the legend in a spare
    panel (or beside the grid)."""
    from matplotlib.lines import Line2D

    n = len(curves)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.5 * cols + 0.6, 2.3 * rows + 0.4), squeeze=False,
                             sharey=True, layout="constrained")
    all_eps = sorted({float(p["eps_255"]) for pts in curves.values() for p in pts})
    used = []
    for ax, (model, pts) in zip(axes.flat, curves.items()):
        df = pd.DataFrame(pts)
        for col, color in (("paper_attack", "tab:blue"), ("strong", "tab:red")):
            for _, g in df.groupby("seed"):
                g = g.sort_values("eps_255")
                ax.plot(g["eps_255"], g[col], color=color, marker="o", ms=3, alpha=0.7)
        ax.axhline(chance, color="grey", ls=":", lw=1)
        ax.axvline(paper_eps, color="grey", ls="--", lw=0.8)
        log_if_wide(ax, all_eps)
        ax.set_ylim(-2, 102)
        ax.set_title(model, fontsize=10)
        # ticks at the evaluated ε only, written as numbers (not 10¹, 10²)
        evaluated_ticks(ax, sorted(df["eps_255"].unique()), rotation=90 if len(all_eps) > 4 else 0, fontsize=9)
        ax.tick_params(axis="y", labelsize=9)
        ax.set_xlabel("ε (1/255)", fontsize=9)
        used.append(ax)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy (%)", fontsize=9)
    handles = [Line2D([], [], color="tab:blue", marker="o", ms=3), Line2D([], [], color="tab:red", marker="o", ms=3),
               Line2D([], [], color="grey", ls=":"), Line2D([], [], color="grey", ls="--", lw=0.8)]
    legend_in_spare_cell(axes, n, handles,
                          ["paper PGD", "strong", f"chance ({num_label(chance)} %)", f"paper ε ({num_label(paper_eps)})"])
    if title:
        fig.suptitle(title, fontsize=11)
    thin_tick_labels(fig, used, keep=[paper_eps])
    save_figure(fig, path, note)
