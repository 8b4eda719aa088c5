"""Figures of the SN generalization-gap experiments (Farnia et al. 2019): the gap with and without
SN per scheme (the appendix table's message), the β sweep, and the normalized-margin distributions
of the margin-bound figure."""
from __future__ import annotations

import numpy as np
import pandas as pd

from advreg.figures.common import _save, plt


def _is_inf(b) -> bool:
    try:
        return float(b) == float("inf")
    except (TypeError, ValueError):
        return False


def gap_figure(best: pd.DataFrame, path, title: str = "", note: str = "", regime: str = "") -> None:
    """Left: adversarial generalization gap (train − test accuracy under the training attack) per
    scheme, β = ∞ vs β*; right: test accuracy. Black markers: the paper's numbers where published.
    Where the validation chose β* = ∞ the two models are one (no SN either way): one bar, labelled so.
    ``regime``: how far the run is from the paper's regime (claims register), printed under the plot."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    x = np.arange(len(best))
    w = 0.38
    same = np.array([_is_inf(b) for b in best["beta_star"]])
    d = ~same
    for ax, key, paper, label in ((axes[0], "gap", "paper_gap", "generalization gap, train − test (points)"),
                                  (axes[1], "test_adv_acc", "paper_test", "test accuracy (%)")):
        # accuracies are fractions in the tables' CSVs: percentages here, as every table shows them
        no_sn, sn = 100 * best[f"{key}_no_sn"].to_numpy(float), 100 * best[f"{key}_sn"].to_numpy(float)
        if d.any():   # only what is drawn gets a legend entry
            ax.bar(x[d] - w / 2, no_sn[d], w, label="no SN (β = ∞)", color="tab:gray")
            ax.bar(x[d] + w / 2, sn[d], w, label="SN at the validation's β*", color="tab:blue")
        if same.any():  # β* = ∞: the validation kept the no-SN model, so both bars would be the same model
            ax.bar(x[same], no_sn[same], w, label="β* = ∞: SN not chosen (one model)", color="tab:gray",
                   hatch="//", edgecolor="white")
        if f"{paper}_no_sn" in best and best[f"{paper}_no_sn"].notna().any():
            ax.plot(x - w / 2, 100 * best[f"{paper}_no_sn"], "k_", ms=18, mew=2, label="paper (β = ∞, β*)")
            ax.plot(x + w / 2, 100 * best[f"{paper}_sn"], "k_", ms=18, mew=2)
        ax.set_xticks(x, [f"{s}\nβ* = {'∞' if _is_inf(b) else b}" for s, b in zip(best["scheme"], best["beta_star"])],
                      fontsize=9)
        ax.set(ylabel=label)
    axes[0].axhline(0, color="k", lw=0.5)
    # one legend for both panels, above them (under the title): never on a bar, clear of the
    # regime note under the plot
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.94), ncol=len(labels), fontsize=8,
               frameon=False)
    if title:
        fig.suptitle(title + " — accuracy under each scheme's training attack (ERM: clean)")
    if regime:
        fig.text(0.01, -0.02, "Regime (claims register): " + regime, ha="left", va="top", fontsize=8,
                 wrap=True)
    fig.tight_layout(rect=(0, 0, 1, 0.88))
    _save(fig, path, note)


def beta_sweep_figure(df: pd.DataFrame, path, title: str = "", note: str = "") -> None:
    """Per scheme: train/test accuracy under the training attack and the gap against β (∞ last);
    last panel: the product of the layer spectral norms ∏ s_k (the bounds' capacity term)."""
    mean = (df.groupby(["scheme", "beta"], observed=True)
            [["train_adv_acc", "test_adv_acc", "gap", "spectral_product"]].mean().reset_index())
    schemes = list(mean["scheme"].cat.categories.intersection(mean["scheme"].unique()))
    fig, axes = plt.subplots(1, len(schemes) + 1, figsize=(3.4 * (len(schemes) + 1), 3.6), squeeze=False)
    for ax, scheme in zip(axes[0], schemes):
        g = mean[mean["scheme"] == scheme]
        labels = [str(b) for b in g["beta"]]
        # fractions in the CSVs, percentages (gap: points) here, as the tables show them
        ax.plot(labels, 100 * g["train_adv_acc"], "o--", label="train")
        ax.plot(labels, 100 * g["test_adv_acc"], "o-", label="test")
        ax.plot(labels, 100 * g["gap"], "s:", color="tab:red", label="gap (points)")
        ax.set(title=str(scheme), xlabel="β", ylim=(min(0, 100 * g["gap"].min()) - 2, 102))
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("accuracy under the training attack (%)")
    ax = axes[0][-1]
    for scheme in schemes:
        g = mean[mean["scheme"] == scheme]
        ax.plot([str(b) for b in g["beta"]], g["spectral_product"], "o-", label=str(scheme))
    ax.set(yscale="log", xlabel="β", title="∏ layer spectral norms")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # beside the panel, not on it
    if title:
        fig.suptitle(title, y=1.03)
    _save(fig, path, note)


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
    same quantity as densities for β = ∞ vs β*."""
    schemes = list(dict.fromkeys(r["scheme"] for r in rows))
    star = dict(zip(best["scheme"].astype(str), best["beta_star"].astype(str)))
    fig, axes = plt.subplots(1, len(schemes), figsize=(3.6 * len(schemes), 3.8), squeeze=False)
    for ax, scheme in zip(axes[0], schemes):
        by_beta: dict[str, list[np.ndarray]] = {}
        for r, m in zip(rows, margins):
            if r["scheme"] == scheme:
                by_beta.setdefault(r["beta"], []).append(m / r["normalizer"])
        betas = sorted(by_beta, key=lambda b: float(b))
        data = [np.concatenate(by_beta[b]) for b in betas]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(betas) + 1), [f"{b}*" if b == star.get(scheme) else b for b in betas])
        linthresh = max(1e-12, min(np.abs(np.median(d)) for d in data) / 10)
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.tick_params(axis="y", labelsize=7)
        _thin_ticks(ax)
        ax.set(title=scheme, xlabel="β  (* = β*)")
    axes[0][0].set_ylabel("normalized margin  m / Γ")
    if title:
        fig.suptitle(title, y=1.03)
    _save(fig, path, note)
