"""SGR paper figures 2–8 (Sec. 4.2, 4.3, App.). Each function takes data and an output path, writes
one PNG with the Agg backend (no display) and returns nothing."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from advreg.figures.common import (distinct_colors, distinct_markers, evaluated_ticks,  # noqa: E402
                                   legend_in_spare_cell, log_if_wide, save_figure, thin_tick_labels)

CHANNEL_COLORS = ("tab:red", "tab:green", "tab:blue")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1)))


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, float)


def _image(ax, img, vmin=0.0, vmax=1.0) -> None:
    """Show one (C,H,W) image (C = 1: grey, C = 3: RGB) without ticks."""
    a = _np(img)
    if a.shape[0] == 1:
        ax.imshow(a[0], cmap="gray", vmin=vmin, vmax=vmax)
    else:
        ax.imshow(np.clip((a.transpose(1, 2, 0) - vmin) / (vmax - vmin), 0, 1))
    ax.set_xticks([])
    ax.set_yticks([])


def _rescale(img) -> np.ndarray:
    """Per-image affine map of values onto [0, 1] (constant images → 0.5)."""
    a = _np(img)
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.full_like(a, 0.5)


def _label(p, class_names) -> str:
    p = int(p)
    return str(class_names[p]) if class_names is not None else str(p)


def _fmt_len(v: float) -> str:
    return "∞" if not math.isfinite(v) else f"{v:.2f}"


def _matrix_panel(ax, m, title) -> object:
    im = ax.imshow(_np(m), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="antialiased")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


# ----------------------------------------------------------------------------- Fig. 2

def fig2_covariance(arrays: Mapping[str, dict], matrices: Mapping[str, torch.Tensor], table: pd.DataFrame,
                    path, C: int, H: int, W: int, trim: float = 0.25, max_r: int | None = None,
                    note: str = "") -> None:
    """(a) centre-cropped (``trim`` per side), max-|.|-rescaled second-moment matrices of each
    source side by side; (b) normalized radial covariance functions, intra-channel (one curve per
    source, per channel for C = 3; colour = channel, line style = source; each divided by its own
    peak) and inter-channel (C > 1; divided by the source's mean intra-channel peak rather than its
    own, so an uncorrelated source stays near 0 instead of being blown up to ±1, and the
    inter/intra ratio is readable), vs pixel displacement; one legend under the figure gives each
    source's line style and decay length (and, for C = 3, the channels' colours).

    arrays / table: the output of ``advreg.sgr.structure.perturbation_structure``; matrices: per
    source the centre-cropped matrix to show (``advreg.sgr.structure.shown_matrix``, cropped with
    the same ``trim``).
    """
    names = list(arrays)
    if not names:
        raise ValueError("no sources to plot")
    lengths = dict(zip(table["source"], table["decay_length"])) if "source" in table else {}
    fraction = float(table["fraction"].iloc[0]) if "fraction" in table and len(table) else math.exp(-1)
    fig = plt.figure(figsize=(max(2.3 * len(names) + 1.3, 6.5), 6.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.3])
    mats = top.subplots(1, len(names), squeeze=False)[0]
    im = None
    for ax, name in zip(mats, names):
        im = _matrix_panel(ax, matrices[name], name)
        ax.title.set_fontsize(10)
    bar = top.colorbar(im, ax=list(mats), shrink=0.85)
    bar.set_label("rescaled second moment", fontsize=9)
    bar.ax.tick_params(labelsize=9)
    top.suptitle(f"(a) matrices, centre crop ({int(round(100 * trim))}% trimmed per side)", fontsize=10,
                 x=0.01, ha="left")
    # (b) radial profiles, and their legend in its own row under them (it covers no curve)
    grid = bottom.add_gridspec(2, 2 if C > 1 else 1, height_ratios=[1.0, 0.24])
    ax_intra = bottom.add_subplot(grid[0, 0])
    ax_inter = bottom.add_subplot(grid[0, 1]) if C > 1 else None
    legend_row = bottom.add_subplot(grid[1, :])
    legend_row.axis("off")
    from matplotlib.lines import Line2D
    handles, tags = [], []
    for i, name in enumerate(names):
        s = arrays[name]
        r = _np(s["r"])
        keep = r <= (max_r if max_r is not None else max(H, W) - 1)
        ls = LINESTYLES[i % len(LINESTYLES)]
        tags.append(f"{name} (decay {_fmt_len(float(lengths.get(name, s['decay_length'])))} px)")
        intra = _np(s["intra"])
        if C == 3:
            for c in range(3):
                ax_intra.plot(r[keep], intra[c][keep], ls=ls, color=CHANNEL_COLORS[c], marker=".", ms=3,
                              label=tags[-1] if c == 0 else None)
            handles.append(Line2D([], [], ls=ls, color="k", marker=".", ms=3))
        else:
            handles.append(ax_intra.plot(r[keep], _np(s["intra_mean"])[keep], ls=ls, marker=".", ms=3,
                                         label=tags[-1])[0])
        if ax_inter is not None and s.get("inter_rel") is not None:
            color = "k" if C == 3 else None
            ax_inter.plot(r[keep], _np(s["inter_rel"])[keep], ls=ls, color=color, marker=".", ms=3,
                          label=name)
    for ax, title, ylabel in ((ax_intra, "intra-channel", "covariance / peak"),
                              (ax_inter, "inter-channel", "covariance / intra-channel peak")):
        if ax is None:
            continue
        ax.axhline(0, color="grey", lw=0.5)
        if ax is ax_intra:
            ax.axhline(fraction, color="grey", lw=0.5, ls=":")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("pixel displacement", fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(labelsize=9)
    if C == 3:   # colour = channel, line style = source
        handles += [Line2D([], [], color=CHANNEL_COLORS[c]) for c in range(3)]
        tags += [f"channel {ch}" for ch in "RGB"]
    legend_row.legend(handles, tags, loc="center", ncol=min(3, len(tags)), fontsize=9, frameon=False)
    bottom.suptitle(f"(b) covariance functions (decay length at {fraction:.3g} of peak)", fontsize=10,
                    x=0.01, ha="left")
    save_figure(fig, path, note)


# ----------------------------------------------------------------------------- Fig. 3

def fig3_samples(x: torch.Tensor, noises_by_zeta: Mapping[float, torch.Tensor],
                 perturbed_by_zeta: Mapping[float, torch.Tensor], eps: float,
                 predictions: Mapping[float, Sequence[int]], path, class_names=None,
                 model_name: str = "", note: str = "") -> None:
    """LRC-perturbed samples. x: (m, C, H, W) originals (two in the paper); noises_by_zeta:
    ζ -> (m, C, H, W) unit-variance noise; perturbed_by_zeta: ζ -> clip(x + ε·ξ)
    (``advreg.sgr.lrc_noise.perturb``); predictions: ζ -> m predicted labels on the perturbed
    images. Rows: original / perturbed clip(x + ε·ξ) / perturbation ξ rescaled to the full range;
    columns: m per ζ; footer: predictions."""
    zetas = list(noises_by_zeta)
    m = x.shape[0]
    ncols = m * len(zetas)
    fig, axes = plt.subplots(3, ncols, figsize=(0.95 * ncols + 0.9, 3.7), squeeze=False)
    for z_i, zeta in enumerate(zetas):
        noise = noises_by_zeta[zeta]
        pert = perturbed_by_zeta[zeta]
        preds = list(predictions.get(zeta, []))
        for e in range(m):
            col = z_i * m + e
            _image(axes[0, col], x[e])
            _image(axes[1, col], pert[e])
            _image(axes[2, col], _rescale(noise[e]))
            if e == 0:
                axes[0, col].set_title(f"ζ = {zeta:g}", fontsize=10, loc="left")
            if e < len(preds):
                axes[2, col].set_xlabel(_label(preds[e], class_names), fontsize=10)
    for row, name in enumerate(("original", f"perturbed (ε={eps:g})", "perturbation\n(rescaled)")):
        axes[row, 0].set_ylabel(name, fontsize=9)
    whose = f"model {model_name}" if model_name else "the model"
    fig.text(0.5, 0.0, f"footer: the class {whose} predicts for the perturbed image", ha="center", fontsize=9)
    save_figure(fig, path, note)


def _mean_std(df: pd.DataFrame, by: list[str], value: str = "worst_of_k_acc") -> pd.DataFrame:
    g = df.groupby(by, dropna=False)[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def _models(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["model"])) if "model" in df else ["model"]


def fig3_accuracy_vs_zeta(df: pd.DataFrame, eps: float, path, value: str = "worst_of_k_acc",
                          note: str = "") -> None:
    """Worst-of-k accuracy vs decay length ζ at fixed ε (LRC rows), one line per model, mean ± std
    over runs (seeds). Rows with noise='data' at that ε, if any, are drawn as dashed horizontal
    lines in the model's colour."""
    if "model" not in df:
        df = df.assign(model="model")
    at = df[np.isclose(df["eps"].astype(float), float(eps))]
    lrc = at[at["noise"] == "lrc"]
    data = at[at["noise"] == "data"]
    if lrc.empty and data.empty:
        raise ValueError(f"no rows at eps={eps}")
    fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
    models = _models(at)
    for model, color, marker in zip(models, distinct_colors(len(models)), distinct_markers(len(models))):
        sub = _mean_std(lrc[lrc["model"] == model], ["zeta"], value).sort_values("zeta")
        if not sub.empty:
            ax.errorbar(sub["zeta"], sub["mean"], yerr=sub["std"], marker=marker, capsize=3, color=color,
                        label=model)
        d = data[data["model"] == model][value]
        if not d.empty:
            ax.axhline(float(d.mean()), ls="--", lw=1, color=color,
                       label=f"{model}: data covariance" if sub.empty else None)
    ax.set_xscale("log", base=2)
    zs = sorted(lrc["zeta"].astype(float).unique())
    if zs:   # ticks at the evaluated ζ only
        evaluated_ticks(ax, zs)
    ax.set(xlabel="decay length ζ (pixels)", ylabel="worst-of-k accuracy (%)",
           title=f"LRC attack, ε = {eps:g}" + ("  (dashed: data covariance)" if not data.empty else ""))
    ax.set_ylim(0, 100)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1.0))   # beside the plot, on no line
    save_figure(fig, path, note)


def fig4_accuracy_vs_eps(df: pd.DataFrame, path, value: str = "worst_of_k_acc", note: str = "") -> None:
    """Accuracy vs ε, one panel per ζ (LRC rows) plus one for noise='data' if present, a line per
    model (mean ± std over runs), each model its own colour and marker. Ticks at the evaluated ε only
    (log scale where they span 10× or more); the legend in a spare panel, else beside the grid."""
    if "model" not in df:
        df = df.assign(model="model")
    panels: list[tuple[str, pd.DataFrame]] = []
    lrc = df[df["noise"] == "lrc"]
    for zeta in sorted(lrc["zeta"].astype(float).unique()):
        panels.append((f"LRC ζ = {zeta:g}", lrc[np.isclose(lrc["zeta"].astype(float), zeta)]))
    data = df[df["noise"] == "data"]
    if not data.empty:
        panels.append(("data covariance", data))
    if not panels:
        raise ValueError("no 'lrc' or 'data' rows")
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols + 0.6, 2.4 * nrows + 0.3), squeeze=False,
                             sharey=True, layout="constrained")
    models = _models(df)
    colors = dict(zip(models, distinct_colors(len(models))))
    markers = dict(zip(models, distinct_markers(len(models))))
    evaluated = sorted(df["eps"].astype(float).unique())
    for ax, (title, sub) in zip(axes.flat, panels):
        for model in models:
            s = _mean_std(sub[sub["model"] == model], ["eps"], value).sort_values("eps")
            if not s.empty:
                ax.errorbar(s["eps"], s["mean"], yerr=s["std"], marker=markers[model], ms=4, capsize=2,
                            color=colors[model], label=model)
        log_if_wide(ax, evaluated)
        evaluated_ticks(ax, evaluated, rotation=90 if len(evaluated) > 3 else 0)
        ax.set(ylim=(0, 100))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("attack strength ε", fontsize=9)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("worst-of-k accuracy (%)", fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    legend_in_spare_cell(axes, len(panels), handles, labels)   # never on a panel
    thin_tick_labels(fig, list(axes.flat)[:len(panels)])
    save_figure(fig, path, note)


# ----------------------------------------------------------------------------- Fig. 5

def fig5_lrc_matrices(matrices: Mapping[float, torch.Tensor], path, C: int, H: int, W: int,
                      note: str = "") -> None:
    """LRC covariance matrices Cch ⊗ exp(−r/ζ), centre-cropped like Fig. 2, one panel per ζ
    (``matrices``: ζ -> matrix, from ``advreg.sgr.structure.lrc_matrices``)."""
    zetas = list(matrices)
    fig, axes = plt.subplots(1, len(zetas), figsize=(1.9 * len(zetas) + 0.9, 2.5), squeeze=False)
    im = None
    for ax, zeta in zip(axes[0], zetas):
        im = _matrix_panel(ax, matrices[zeta], f"ζ = {float(zeta):g}")
        ax.title.set_fontsize(10)
    bar = fig.colorbar(im, ax=list(axes[0]), shrink=0.8)
    bar.ax.tick_params(labelsize=9)
    fig.suptitle(f"LRC covariance matrices (C = {C}, {H}×{W}, centre crop)", fontsize=10)
    save_figure(fig, path, note)


# ----------------------------------------------------------------------------- Fig. 6

def fig6_trajectories(probs_by_model: Mapping[str, torch.Tensor], path, n_examples: int = 4,
                      class_names=None, title: str = "", note: str = "") -> None:
    """Softmax outputs along x_clean + t(x_adv − x_clean), t ∈ [0, 1] (``trajectories.softmax_along_line``):
    one row per model, one column per example (the first ``n_examples``). The classes predicted at
    t = 0 (blue) and t = 1 (red) are drawn bold and named in the panel's title ("3 → 5"), the others
    thin grey; one legend in its own row under the panels, so it covers no curve."""
    from matplotlib.lines import Line2D

    models = list(probs_by_model)
    n = min([n_examples] + [int(p.shape[0]) for p in probs_by_model.values()])
    fig = plt.figure(figsize=(2.2 * n + 0.9, 2.0 * len(models) + 0.9), layout="constrained")
    grid = fig.add_gridspec(len(models) + 1, n, height_ratios=[1.0] * len(models) + [0.16])
    axes = np.empty((len(models), n), dtype=object)
    for row in range(len(models)):
        for col in range(n):
            axes[row, col] = fig.add_subplot(grid[row, col], sharex=axes[0, 0] if row or col else None,
                                             sharey=axes[0, 0] if row or col else None)
    for row, model in enumerate(models):
        probs = _np(probs_by_model[model])
        steps, K = probs.shape[1], probs.shape[2]
        t = np.linspace(0.0, 1.0, steps)
        for col in range(n):
            ax = axes[row, col]
            p = probs[col]
            start, end = int(p[0].argmax()), int(p[-1].argmax())
            for cls in range(K):
                if cls in (start, end):
                    continue
                ax.plot(t, p[:, cls], color="0.75", lw=0.8)
            ax.plot(t, p[:, start], color="tab:blue", lw=2, label=f"clean: {_label(start, class_names)}")
            if end != start:
                ax.plot(t, p[:, end], color="tab:red", lw=2, label=f"adv: {_label(end, class_names)}")
            ax.set_ylim(-0.02, 1.02)
            ax.tick_params(labelsize=9)
            classes = (f"{_label(start, class_names)} → {_label(end, class_names)}" if end != start
                       else f"{_label(start, class_names)} (unchanged)")
            ax.set_title(f"example {col}: {classes}" if row == 0 else classes, fontsize=9)
            if row < len(models) - 1:
                ax.tick_params(labelbottom=False)
            else:
                ax.set_xlabel("t (clean → adversarial)", fontsize=9)
            if col:
                ax.tick_params(labelleft=False)
        axes[row, 0].set_ylabel(f"{model}\nsoftmax", fontsize=10)
    legend_row = fig.add_subplot(grid[-1, :])
    legend_row.axis("off")
    legend_row.legend([Line2D([], [], color="tab:blue", lw=2), Line2D([], [], color="tab:red", lw=2),
                       Line2D([], [], color="0.75", lw=0.8)],
                      ["class predicted on the clean image (t = 0)", "class predicted on the adversarial image (t = 1)",
                       "the other classes"], loc="center", ncol=2, fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    save_figure(fig, path, note)


# ----------------------------------------------------------------------------- Figs. 7–8

def fig78_samples(x_clean: torch.Tensor, x_adv: torch.Tensor, preds_clean: Sequence[int],
                  preds_adv: Sequence[int], path, title: str, n: int = 16, ncols: int = 8,
                  class_names=None, note: str = "") -> None:
    """PGD-perturbed samples of one model: for each block of ``ncols`` examples a row of clean
    images (titled with the clean prediction) above a row of their adversarial versions (titled
    with the adversarial prediction, red where it changed). The first ``n`` examples are shown."""
    n = min(n, x_clean.shape[0])
    ncols = max(1, min(ncols, n))
    blocks = math.ceil(n / ncols)
    fig, axes = plt.subplots(2 * blocks, ncols, figsize=(1.25 * ncols, 2.75 * blocks + 0.4), squeeze=False)
    pc = [int(v) for v in (preds_clean.tolist() if hasattr(preds_clean, "tolist") else preds_clean)]
    pa = [int(v) for v in (preds_adv.tolist() if hasattr(preds_adv, "tolist") else preds_adv)]
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        b, col = divmod(i, ncols)
        top, bottom = axes[2 * b, col], axes[2 * b + 1, col]
        for ax in (top, bottom):
            ax.axis("on")
        _image(top, x_clean[i])
        _image(bottom, x_adv[i])
        top.set_title(_label(pc[i], class_names), fontsize=8)
        bottom.set_title(_label(pa[i], class_names), fontsize=8,
                         color="red" if pa[i] != pc[i] else "black")
    for b in range(blocks):
        axes[2 * b, 0].set_ylabel("clean", fontsize=8)
        axes[2 * b + 1, 0].set_ylabel("PGD", fontsize=8)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path, note)
