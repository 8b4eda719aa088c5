"""Figures of the SN generalization-gap experiments (Farnia et al. 2019): the gap with and without
SN per scheme (the appendix table's message), the β sweep, and the normalized-margin distributions
of the margin-bound figure."""
from __future__ import annotations

import numpy as np
import pandas as pd

from advreg.figures.common import num_label, plt, save_figure


def _is_inf(b) -> bool:
    try:
        return float(b) == float("inf")
    except (TypeError, ValueError):
        return False


def _wrapped(text: str, fig, fontsize: float) -> str:
    """``text`` wrapped to the figure's width at ``fontsize`` (deterministic; matplotlib's wrap=True
    sizes the tight bounding box wrongly)."""
    import textwrap
    return textwrap.fill(text, max(30, int(fig.get_figwidth() * 72 / (fontsize * 0.55))))


def gap_figure(best: pd.DataFrame, path, title: str = "", note: str = "", regime: str = "") -> None:
    """Left: adversarial generalization gap (train − test accuracy under the training attack) per
    scheme, β = ∞ (grey) vs β* (blue); right: test accuracy. Black diamonds: the paper's numbers where
    published, each with its value printed above it (left of a pair: β = ∞, right: the paper's β*).
    Where the validation chose β* = ∞ the two models are one (no SN either way): one hatched grey
    bar, labelled so. Tick labels: the scheme, its β* and the paper's. ``regime``: how far the run is
    from the paper's regime (claims register), printed under the plot."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig = plt.figure(figsize=(9.5, 4.6), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1.0, 0.13])
    axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])]
    legend_row = fig.add_subplot(grid[1, :])   # the legend's own row, under the panels: never on a bar
    legend_row.axis("off")
    x = np.arange(len(best))
    w = 0.38
    same = np.array([_is_inf(b) for b in best["beta_star"]])
    d = ~same
    paper_star = best["paper_beta_star"] if "paper_beta_star" in best else pd.Series([None] * len(best))
    paper_same = np.array([_is_inf(b) for b in paper_star])
    entries: dict[str, object] = {}
    for ax, key, paper, label in ((axes[0], "gap", "paper_gap", "generalization gap, train − test (points)"),
                                  (axes[1], "test_adv_acc", "paper_test", "test accuracy (%)")):
        # accuracies are fractions in the tables' CSVs: percentages here, as every table shows them
        no_sn, sn = 100 * best[f"{key}_no_sn"].to_numpy(float), 100 * best[f"{key}_sn"].to_numpy(float)
        if d.any():   # only what is drawn gets a legend entry
            ax.bar(x[d] - w / 2, no_sn[d], w, color="tab:gray")
            ax.bar(x[d] + w / 2, sn[d], w, color="tab:blue")
            entries["no SN (β = ∞)"] = Patch(color="tab:gray")
            entries["SN at the validation's β*"] = Patch(color="tab:blue")
        if same.any():  # β* = ∞: the validation kept the no-SN model, so both bars would be the same model
            ax.bar(x[same], no_sn[same], w, color="tab:gray", hatch="//", edgecolor="white")
            entries["β* = ∞: SN not chosen (one model, one bar)"] = Patch(facecolor="tab:gray", hatch="//",
                                                                         edgecolor="white")
        top = np.nanmax(np.concatenate([no_sn, sn, [1.0]]))
        if f"{paper}_no_sn" in best and best[f"{paper}_no_sn"].notna().any():
            values = (100 * best[f"{paper}_no_sn"].to_numpy(float), 100 * best[f"{paper}_sn"].to_numpy(float))
            for i in range(len(best)):
                # the paper's β* = ∞: its two numbers are one model's, drawn once in the middle
                spots = [(x[i], values[0][i])] if paper_same[i] else [(x[i] - w / 2, values[0][i]),
                                                                      (x[i] + w / 2, values[1][i])]
                for xi, v in spots:
                    if not np.isfinite(v):
                        continue
                    ax.plot([xi], [v], "D", color="k", ms=5, zorder=3)
                    ax.annotate(f"{v:.1f}", (xi, v), xytext=(0, 5), textcoords="offset points", ha="center",
                                va="bottom", fontsize=8, zorder=4,
                                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
                    top = max(top, v)
            entries["paper (Farnia et al. 2019), value above"] = Line2D([], [], ls="", marker="D", color="k", ms=5)
        ticks = []
        for s, b, pb in zip(best["scheme"], best["beta_star"], paper_star):
            tick = f"{s}\nβ* = {num_label(b)}"
            if pb is not None and not (isinstance(pb, float) and np.isnan(pb)):
                tick += f"\n(paper {num_label(pb)})"
            ticks.append(tick)
        ax.set_xticks(x, ticks, fontsize=9)
        ax.set_ylabel(label, fontsize=10)
        ax.set_ylim(top=top * 1.15 + 1)
        ax.tick_params(axis="y", labelsize=9)
    axes[0].axhline(0, color="k", lw=0.5)
    legend_row.legend(list(entries.values()), list(entries), loc="center", ncol=2, fontsize=9, frameon=False)
    if title:
        fig.suptitle(title + " — accuracy under each scheme's training attack (ERM: clean)", fontsize=11)
    if regime:
        fig.text(0.01, 0.0, _wrapped("Regime (claims register): " + regime, fig, 9), ha="left", va="top",
                 fontsize=9)
    save_figure(fig, path, note)


def beta_sweep_figure(df: pd.DataFrame, path, title: str = "", note: str = "") -> None:
    """Per scheme: train/test accuracy under the training attack and the gap against β (∞ last);
    then a panel of the product of the layer spectral norms ∏ s_k (the bounds' capacity term). Three
    panels a row; the accuracy panels' legend under the grid, the ∏ panel's in the next (spare)
    panel or beside it."""
    mean = (df.groupby(["scheme", "beta"], observed=True)
            [["train_adv_acc", "test_adv_acc", "gap", "spectral_product"]].mean().reset_index())
    schemes = list(mean["scheme"].cat.categories.intersection(mean["scheme"].unique()))
    n = len(schemes) + 1
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.7 * cols + 0.8, 2.5 * rows + 0.6), squeeze=False,
                             layout="constrained")
    flat = list(axes.flat)
    for ax, scheme in zip(flat, schemes):
        g = mean[mean["scheme"] == scheme]
        labels = [num_label(b) for b in g["beta"]]   # the evaluated β only, ∞ written as ∞
        # fractions in the CSVs, percentages (gap: points) here, as the tables show them
        ax.plot(labels, 100 * g["train_adv_acc"], "o--", label="train")
        ax.plot(labels, 100 * g["test_adv_acc"], "o-", label="test")
        ax.plot(labels, 100 * g["gap"], "s:", color="tab:red", label="gap, train − test (points)")
        ax.set(title=str(scheme), xlabel="β", ylim=(min(0, 100 * g["gap"].min()) - 2, 102))
        ax.tick_params(labelsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy under the\ntraining attack (%)", fontsize=10)
    ax = flat[len(schemes)]
    for scheme in schemes:
        g = mean[mean["scheme"] == scheme]
        ax.plot([num_label(b) for b in g["beta"]], g["spectral_product"], "o-", label=str(scheme))
    ax.set(yscale="log", xlabel="β", title="∏ layer spectral norms")
    ax.tick_params(labelsize=9)
    for spare in flat[n:]:
        spare.axis("off")
    handles, labels = flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=9, frameon=False)
    h, lab = ax.get_legend_handles_labels()
    if n < len(flat):   # in the spare panel after it: never on a curve
        flat[n].legend(h, lab, loc="upper left", fontsize=9, title="∏ panel", title_fontsize=9)
    else:               # beside the panel, not on it
        ax.legend(h, lab, fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    if title:
        fig.suptitle(title, fontsize=11)
    save_figure(fig, path, note)


def _thin_ticks(ax, min_px: float = 14.0) -> None:
    """Keep only y ticks at least ``min_px`` apart on screen: a symlog axis labels every decade on
    both sides of a narrow linear region, and the labels around 0 collide. 0 is kept first."""
    lo, hi = sorted(ax.get_ylim())
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    px = {t: ax.transData.transform((0, t))[1] for t in ticks}
    kept: list[float] = []
    for t in sorted(ticks, key=lambda t: (t != 0, abs(t))):  # 0 first, then outwards
        if all(abs(px[t] - px[k]) >= min_px for k in kept):
            kept.append(t)
    ax.set_yticks(sorted(kept))


def margins_figure(rows: list[dict], margins: list[np.ndarray], best: pd.DataFrame, path, title: str = "", note: str = "") -> None:
    """Per scheme: the training-set margins normalized by the bound's capacity term Γ, one box per
    β (symlog scale: they span orders of magnitude); β* marked. The paper's margin figure shows the
    same quantity as densities for β = ∞ vs β*. At most three panels a row (four: two by two)."""
    schemes = list(dict.fromkeys(r["scheme"] for r in rows))
    star = dict(zip(best["scheme"].astype(str), best["beta_star"].astype(str)))
    n = len(schemes)
    cols = -(-n // -(-n // 3))
    nrows = -(-n // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.1 * cols + 0.4, 2.8 * nrows + 0.4), squeeze=False,
                             layout="constrained")
    used = []
    for ax, scheme in zip(axes.flat, schemes):
        by_beta: dict[str, list[np.ndarray]] = {}
        for r, m in zip(rows, margins):
            if r["scheme"] == scheme:
                by_beta.setdefault(r["beta"], []).append(m / r["normalizer"])
        betas = sorted(by_beta, key=lambda b: float(b))
        data = [np.concatenate(by_beta[b]) for b in betas]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(betas) + 1),
                      [f"{num_label(b)}*" if b == star.get(scheme) else num_label(b) for b in betas], fontsize=9)
        linthresh = max(1e-12, min(np.abs(np.median(d)) for d in data) / 10)
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.tick_params(axis="y", labelsize=9)
        ax.set(title=scheme, xlabel="β  (* = β*)")
        used.append(ax)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("normalized margin  m / Γ")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.canvas.draw()   # the final layout, then ticks far enough apart for 9-pt labels
    for ax in used:
        _thin_ticks(ax, min_px=1.5 * 9 * fig.dpi / 72)
    save_figure(fig, path, note)
