"""Figures. Every function takes data, writes one figure (a PNG and its SVG twin), and uses the Agg
backend (no display)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator  # noqa: E402
import pandas as pd  # noqa: E402

from advreg.atomic import atomic_path  # noqa: E402


def _save(fig, path, note: str = "") -> None:
    """Write the figure; a ``note`` (a synthetic stand-in's label, advreg.stand_in) is printed in red
    across its top, so the image cannot be shown without it."""
    if note:
        fig.text(0.5, 1.0, note, ha="center", va="bottom", color="red", fontsize=11, fontweight="bold",
                 wrap=True, transform=fig.transFigure)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a 150-dpi PNG for the report and the same figure as vector graphics beside it (<name>.svg,
    # a declared output of every figure rule), both written atomically
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", format="png")
    with atomic_path(path.with_suffix(".svg")) as tmp:
        fig.savefig(tmp, bbox_inches="tight", format="svg", metadata={"Date": None})
    plt.close(fig)


def distinct_colors(n: int) -> list:
    """n colours no two of which are the same (matplotlib's default cycle repeats after 10)."""
    if n <= 10:
        return [f"C{i}" for i in range(n)]
    cmap = plt.get_cmap("tab20" if n <= 20 else "turbo")
    return [cmap(i / (n - 1) if n > 20 else i) for i in range(n)]


def training_curves(histories: dict[str, pd.DataFrame], path, title: str = "", note: str = "") -> None:
    """Loss and train/validation accuracy per epoch, one line per model, each model its own colour
    (validation: the split carved from the training file, never the test set)."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for (label, h), color in zip(histories.items(), distinct_colors(len(histories))):
        ax_loss.plot(h["epoch"], h["loss"], marker="o", label=label, color=color)
        ax_acc.plot(h["epoch"], 100 * h["val_acc"], marker="o", label=f"{label} val", color=color)
        ax_acc.plot(h["epoch"], 100 * h["train_acc"], ls="--", color=color)
    ax_loss.set(xlabel="epoch", ylabel="training loss (objective)", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)  — solid: validation, dashed: train")
    for ax in (ax_loss, ax_acc):   # epochs are whole numbers: no tick at 1.25, 1.75, ...
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    # one legend, beside the panels, so it covers no line
    ax_acc.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    if title:
        fig.suptitle(title)
    _save(fig, path, note)


def matrix_heatmap(df: pd.DataFrame, path, title: str = "", note: str = "") -> None:
    """Accuracy matrix (rows: model attacked; columns: test, then source of the examples). The
    colour scale spans the matrix's own range (values of 67-99 on a 0-100 scale look uniform), and
    every cell prints its value."""
    import numpy as np
    values = df.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 100.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * values.shape[1], 0.9 + 0.5 * values.shape[0]))
    im = ax.imshow(values, cmap="viridis", vmin=lo, vmax=hi)
    ax.set_xticks(range(values.shape[1]), df.columns, rotation=45, ha="right")
    ax.set_yticks(range(values.shape[0]), df.index)
    ax.set_xlabel("source of the adversarial examples (diagonal: white-box)")
    ax.set_ylabel("model attacked")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if (v - lo) / (hi - lo) < 0.6 else "black",
                    fontweight="bold" if j >= 1 and df.columns[j] == df.index[i] else "normal")
    fig.colorbar(im, ax=ax, label="accuracy (%)")
    if title:
        ax.set_title(title)
    _save(fig, path, note)


def accuracy_vs_eps(curves: dict[str, list[dict]], path, paper_eps: float, chance: float = 10.0,
                    title: str = "", note: str = "") -> None:
    """Gradient-masking check (Carlini et al. 2019): accuracy vs ε per model under the paper's PGD
    and the strong ensemble; ``curves``: model -> [{eps_255, paper_attack, strong}, ...] (one list
    per seed concatenated: each seed is one faint line)."""
    import math

    n = len(curves)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 3.2 * rows), squeeze=False, sharey=True)
    for ax, (model, pts) in zip(axes.flat, curves.items()):
        df = pd.DataFrame(pts)
        for col, color, label in (("paper_attack", "tab:blue", "paper PGD"), ("strong", "tab:red", "strong")):
            for k, (_, g) in enumerate(df.groupby("seed")):
                g = g.sort_values("eps_255")
                ax.plot(g["eps_255"], g[col], color=color, marker="o", ms=3, alpha=0.7,
                        label=label if k == 0 else None)
        ax.axhline(chance, color="grey", ls=":", lw=1)
        ax.axvline(paper_eps, color="grey", ls="--", lw=0.8)
        ax.set(xscale="log", ylim=(-2, 102))
        ax.set_title(model, fontsize=11)
        # ticks at the evaluated ε, written as numbers (not 10¹, 10²)
        evaluated = sorted(df["eps_255"].unique())
        ax.xaxis.set_major_locator(FixedLocator(evaluated))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(evaluated, [f"{e:g}" for e in evaluated], fontsize=9, rotation=45)
        ax.tick_params(axis="y", labelsize=9)
        ax.set_xlabel("ε (1/255)", fontsize=10)
    for ax in axes.flat[n:]:
        ax.axis("off")
    axes[0, 0].set_ylabel("accuracy (%)", fontsize=10)
    axes[0, 0].legend(fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    _save(fig, path, note)
