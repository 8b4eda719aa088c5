"""Every figure of the pipeline is legible where the report shows it (issue 41): each figure function
is drawn on synthetic inputs of the full configuration's size (13 models, 4 SN schemes × 6 β, 5 ζ ×
7 ε, ...) and every piece of text it draws is checked.

The rule: the report shows a PNG W pixels wide at min(900, W) pixels (a 900-px wide view), so text
of s points drawn at D dpi is seen at s·D/72 · min(1, 900/W) pixels; every drawn text must be
seen at 9 pixels or more. W is read from the PNG written (``bbox_inches="tight"`` makes it differ
from the figure's width). And figure text is written for readers, not as Python reprs: ∞, not
``inf``; no ``nan``/``None``/``True``/``False``, no list brackets, no quoted reprs (an ASCII
apostrophe only inside a word: "clean's"). Legends cover no data: no plotted line passes through
a legend box and no bar sits under one."""
from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import matplotlib.figure
import matplotlib.patches
import matplotlib.text
import numpy as np
import pandas as pd
import pytest
import torch

from advreg.figures import common, sgr, sn

DISPLAY_PX = 900   # the width of the report's view of a figure
MIN_PX = 9         # the smallest text a reader is asked to read


class Drawn:
    """One PNG written by a figure function: its Figure, its width in pixels, and every text drawn
    into it (the Text artist, its string, its size in points)."""

    def __init__(self, fig, width_px: int, dpi: float, texts: list):
        self.fig, self.width_px, self.dpi, self.texts = fig, width_px, dpi, texts

    def shown_px(self, points: float) -> float:
        return points * self.dpi / 72 * min(1.0, DISPLAY_PX / self.width_px)


def _png_width(path) -> int:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">I", head[16:20])[0]


def _recording(monkeypatch) -> list[Drawn]:
    """Every PNG saved from now on, as a ``Drawn``: the texts are those matplotlib actually
    draws (``Text.draw`` on a visible artist with a non-empty string), so tick labels outside the
    view, hidden axes and empty labels do not count."""
    out: list[Drawn] = []
    recording: list | None = None
    text_draw = matplotlib.text.Text.draw
    savefig = matplotlib.figure.Figure.savefig

    def draw(self, renderer):
        if recording is not None and self.get_visible() and self.get_text().strip():
            recording.append((self, self.get_text(), float(self.get_fontsize())))
        return text_draw(self, renderer)

    def save(self, fname, *a, **kw):
        nonlocal recording
        fmt = kw.get("format") or Path(str(fname)).suffix.lstrip(".")
        if fmt != "png":   # the vector twin shows the same texts: not drawn here (the suite's time)
            Path(fname).write_bytes(b"")
            return None
        recording = []
        try:
            result = savefig(self, fname, *a, **kw)
        finally:
            texts, recording = recording, None
        unique = list({(id(t), s): (t, s, p) for t, s, p in texts}.values())
        out.append(Drawn(self, _png_width(fname), float(kw.get("dpi") or self.dpi), unique))
        return result

    monkeypatch.setattr(matplotlib.text.Text, "draw", draw)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", save)
    return out


@pytest.fixture
def pngs(monkeypatch):
    return _recording(monkeypatch)


# ----------------------------------------------------------------------------- inputs

MODELS = ["clean", "wdecay", "fgsm", "pgd", "gn", "sgr_grad", "sgr_sign", "fgsm_sgr", "pgd_sgr", "lrc", "gn_sn",
          "sgr_sign_sn", "sgr_sign_full"]
NOTE = "SYNTHETIC STAND-IN DATA (no mirror): not the paper's digits"


def _training_curves(path):
    r = np.random.default_rng(0)
    hist = {m: pd.DataFrame({"epoch": np.arange(1, 6), "loss": np.sort(r.uniform(0.05, 2, 5))[::-1],
                             "train_acc": r.uniform(0.5, 1, 5), "val_acc": r.uniform(0.5, 1, 5)})
            for m in MODELS}
    common.training_curves(hist, path, title="mnist: training curves", note=NOTE)


def _matrix_heatmap(path):
    r = np.random.default_rng(1)
    df = pd.DataFrame(r.uniform(0, 100, (len(MODELS), len(MODELS) + 1)), index=MODELS, columns=["test"] + MODELS)
    common.matrix_heatmap(df, path, title="mnist: transfer matrix, PGD ε = 32/255")


def _accuracy_vs_eps(path):
    eps = [8, 16, 32, 64, 76.5, 128]
    curves = {m: [{"eps_255": e, "paper_attack": max(0.0, 95 - e / (2 + i)), "strong": max(0.0, 90 - e / (1 + i)),
                   "seed": s} for s in (0, 1) for e in eps] for i, m in enumerate(MODELS)}
    common.accuracy_vs_eps(curves, path, paper_eps=76.5, title="mnist: accuracy vs ε (500 test images)")


SCHEMES = ["ERM", "FGM", "PGM", "WRM"]


def _best(stars=("inf", "4", "inf", "2")):
    n = len(stars)
    return pd.DataFrame({"scheme": SCHEMES[:n], "beta_star": list(stars),
                         "gap_no_sn": [0.02, 0.10, 0.12, 0.08][:n], "gap_sn": [0.02, 0.05, 0.12, 0.04][:n],
                         "test_adv_acc_no_sn": [0.98, 0.80, 0.75, 0.85][:n],
                         "test_adv_acc_sn": [0.98, 0.84, 0.75, 0.86][:n],
                         "paper_beta_star": ["inf", "4.0", "4.0", "4.0"][:n],
                         "paper_test_no_sn": [0.99, 0.85, 0.80, 0.90][:n], "paper_test_sn": [0.99, 0.90, 0.88, 0.93][:n],
                         "paper_gap_no_sn": [0.01, 0.14, 0.19, 0.09][:n], "paper_gap_sn": [0.01, 0.06, 0.08, 0.05][:n]})


REGIME = ("train accuracy (ERM, β = ∞): 100.0 (paper 100.0, ± 1: within); ERM gap: 1.9 (paper 1.0, ± 2: within); "
          "β grid: 1, 2, ∞ (paper 1, 2, 4, 8, 16, ∞, contains: OUTSIDE); training images: 1,000 (paper 60,000, "
          "≥ 10 %: OUTSIDE); epochs: 5 (paper 30, ≥ 50 %: OUTSIDE)")


def _gap_figure(path):
    sn.gap_figure(_best(), path, title="mnist / elunet", note=NOTE, regime=REGIME)


def _sweep():
    rows = []
    betas = ["1", "2", "4", "8", "16", "inf"]
    for i, scheme in enumerate(SCHEMES):
        for j, beta in enumerate(betas):
            for seed in (0, 1):
                rows.append({"scheme": scheme, "beta": beta, "seed": seed, "train_adv_acc": 0.7 + 0.05 * j,
                             "test_adv_acc": 0.65 + 0.02 * j - 0.01 * i, "gap": 0.05 + 0.03 * j,
                             "spectral_product": 2.0 ** (2 * j + i)})
    df = pd.DataFrame(rows)
    df["scheme"] = pd.Categorical(df["scheme"], SCHEMES, ordered=True)
    df["beta"] = pd.Categorical(df["beta"], betas, ordered=True)
    return df


def _beta_sweep(path):
    sn.beta_sweep_figure(_sweep(), path, title="mnist / elunet", note=NOTE)


def _margins(path):
    r = np.random.default_rng(2)
    rows, margins = [], []
    for scheme in SCHEMES:
        for k, beta in enumerate(["1", "2", "4", "8", "16", "inf"]):
            rows.append({"scheme": scheme, "beta": beta, "normalizer": 10.0 ** k})
            margins.append(r.lognormal(mean=math.log(10.0 ** (k + 1)), sigma=1.5, size=200))
    sn.margins_figure(rows, margins, _best(), path, title="mnist / elunet: training-set margins", note=NOTE)


def _fig2(path, C=3):
    from advreg.sgr.structure import perturbation_structure, shown_matrix
    gen = torch.Generator().manual_seed(C)
    x = torch.rand(30, C, 8, 8, generator=gen)
    adv = {"fgsm": (x + 0.03 * torch.randn(x.shape, generator=gen).sign()).clamp(0, 1),
           "pgd": (x + 0.03 * torch.randn(x.shape, generator=gen)).clamp(0, 1)}
    arrays, table = perturbation_structure(x, adv, x)
    shown = {n: shown_matrix(a, C, 8, 8) for n, a in arrays.items()}
    sgr.fig2_covariance(arrays, shown, table, path, C, 8, 8, note=NOTE)


def _fig3_samples(path):
    from advreg.sgr.lrc_noise import LRCSampler, perturb
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 28, 28, generator=gen)
    zetas = [1.0, 2.0, 4.0, 8.0, 12.0]
    noises = {z: LRCSampler(1, 28, 28, z).sample(2, gen) for z in zetas}
    preds = {z: [3, 8] for z in zetas}
    perturbed = {z: perturb(x, n, 0.3) for z, n in noises.items()}
    sgr.fig3_samples(x, noises, perturbed, 0.3, preds, path, model_name="clean", note=NOTE)


def _lrc_df(zetas=(1, 2, 4, 8, 16), epsilons=(0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7), models=MODELS[:9]):
    rows = []
    for i, model in enumerate(models):
        for seed in range(2):
            for zeta in zetas:
                for eps in epsilons:
                    rows.append({"model": model, "noise": "lrc", "zeta": float(zeta), "eps": eps, "seed": seed,
                                 "worst_of_k_acc": max(0.0, 95 - 100 * eps * math.log2(zeta + 1) / (1 + i))})
            for eps in epsilons:
                rows.append({"model": model, "noise": "data", "zeta": float("nan"), "eps": eps, "seed": seed,
                             "worst_of_k_acc": max(0.0, 90 - 80 * eps / (1 + i))})
    return pd.DataFrame(rows)


def _fig3_accuracy(path):
    sgr.fig3_accuracy_vs_zeta(_lrc_df(), 0.3, path, note=NOTE)


def _fig4(path):
    sgr.fig4_accuracy_vs_eps(_lrc_df(), path, note=NOTE)


def _fig4_two_eps(path):
    sgr.fig4_accuracy_vs_eps(_lrc_df(epsilons=(0.1, 0.3), models=MODELS[:6]), path, note=NOTE)


def _fig5(path):
    from advreg.sgr.structure import lrc_matrices
    sgr.fig5_lrc_matrices(lrc_matrices(1, 8, 8, [1, 2, 4, 8, 16]), path, 1, 8, 8, note=NOTE)


def _fig6(path):
    gen = torch.Generator().manual_seed(4)
    probs = {}
    for m in ("clean", "sgr_sign"):
        logits = torch.randn(4, 21, 10, generator=gen)
        logits[:, :, 3] += torch.linspace(6, -6, 21)   # class 3 at the clean end, class 5 at the adversarial
        logits[:, :, 5] += torch.linspace(-6, 6, 21)
        probs[m] = torch.softmax(logits, -1)
    sgr.fig6_trajectories(probs, path, n_examples=4,
                          title="test images 6, 7, 8, 9 (of the first 200): where PGD changes clean's prediction",
                          note=NOTE)


def _fig78(path):
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(16, 1, 28, 28, generator=gen)
    xa = (x + 0.3 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    pc = list(range(10)) + list(range(6))
    pa = [(p + (i % 3 == 0)) % 10 for i, p in enumerate(pc)]
    sgr.fig78_samples(x, xa, pc, pa, path, "PGD-perturbed samples of sgr_sign (mnist, seed 0)", note=NOTE)


FIGURES = {"training_curves": _training_curves, "matrix_heatmap": _matrix_heatmap,
           "accuracy_vs_eps": _accuracy_vs_eps, "sn_gap": _gap_figure, "sn_beta_sweep": _beta_sweep,
           "sn_margins": _margins, "fig2_rgb": _fig2, "fig2_grey": lambda p: _fig2(p, C=1),
           "fig3_samples": _fig3_samples, "fig3_accuracy": _fig3_accuracy, "fig4": _fig4,
           "fig4_two_eps": _fig4_two_eps, "fig5": _fig5, "fig6": _fig6, "fig78": _fig78}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """name -> its ``Drawn``, each figure drawn once for the module's checks."""
    cache: dict[str, Drawn] = {}
    tmp = tmp_path_factory.mktemp("figures")

    def get(name: str) -> Drawn:
        if name not in cache:
            with pytest.MonkeyPatch.context() as mp:
                out = _recording(mp)
                FIGURES[name](tmp / f"{name}.png")
            assert len(out) == 1, f"{name}: {len(out)} PNGs written"
            cache[name] = out[0]
        return cache[name]
    return get


# ----------------------------------------------------------------------------- checks

REPR = re.compile(r"\b(inf|nan|NaN|None|True|False)\b|[\[\]]|(?<![A-Za-z0-9])'|'(?![A-Za-z0-9])")


def repr_fragments(text: str) -> list[str]:
    """The pieces of ``text`` that read as Python output rather than writing."""
    return [m.group(0) for m in REPR.finditer(text)]


def small_texts(d: Drawn) -> list[tuple[str, float]]:
    return [(s, round(d.shown_px(p), 1)) for _, s, p in d.texts if d.shown_px(p) < MIN_PX - 1e-9]


def _data_points(ax, renderer) -> np.ndarray:
    """Display coordinates along every plotted line of ``ax`` (each segment sampled densely) and
    the corners and centre of every bar."""
    pts = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = np.asarray(line.get_xydata(), float)   # after unit conversion (categorical β: 0, 1, ...)
        xy = xy[np.isfinite(xy).all(1)]
        if not len(xy):
            continue
        disp = line.get_transform().transform(xy)
        if len(disp) > 1:
            t = np.linspace(0, 1, 40)[:, None]
            disp = np.concatenate([a + t * (b - a) for a, b in zip(disp[:-1], disp[1:])])
        pts.append(disp)
    for coll in ax.collections:   # errorbar whiskers
        for seg in getattr(coll, "get_segments", lambda: [])():
            seg = np.asarray(seg, float)
            if len(seg) == 2 and np.isfinite(seg).all():
                disp = coll.get_transform().transform(seg)
                t = np.linspace(0, 1, 20)[:, None]
                pts.append(disp[0] + t * (disp[1] - disp[0]))
    for p in ax.patches:
        if isinstance(p, matplotlib.patches.Rectangle) and p.get_visible() and p.get_height() != 0:
            b = p.get_window_extent(renderer)
            pts.append(np.array([[b.x0, b.y0], [b.x1, b.y1], [b.x0, b.y1], [b.x1, b.y0],
                                 [(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2]]))
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def covered_data(fig) -> list[str]:
    """The legends of ``fig`` under which some plotted data lies."""
    from conftest import laid_out
    renderer = laid_out(fig)
    legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None] + list(fig.legends)
    out = []
    for leg in legends:
        box = leg.get_window_extent(renderer)
        for ax in fig.axes:
            pts = _data_points(ax, renderer)
            inside = ((pts[:, 0] > box.x0 + 1) & (pts[:, 0] < box.x1 - 1)
                      & (pts[:, 1] > box.y0 + 1) & (pts[:, 1] < box.y1 - 1))
            if inside.any():
                out.append(f"legend {[t.get_text() for t in leg.get_texts()][:3]} covers data of panel "
                           f"{ax.get_title()!r}")
                break
    return out


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_text_is_legible_at_report_size(name, drawn):
    d = drawn(name)
    assert d.texts, "no text recorded"
    small = small_texts(d)
    assert not small, (f"{name}: PNG {d.width_px} px wide, shown at {min(DISPLAY_PX, d.width_px)} px: "
                       f"text under {MIN_PX} px: {small[:8]}")


@pytest.mark.parametrize("name", list(FIGURES))
def test_no_python_reprs_in_figure_text(name, drawn):
    d = drawn(name)
    bad = [(s, repr_fragments(s)) for _, s, _ in d.texts if repr_fragments(s)]
    assert not bad, f"{name}: {bad[:6]}"


@pytest.mark.parametrize("name", list(FIGURES))
def test_legends_cover_no_data(name, drawn):
    covered = covered_data(drawn(name).fig)
    assert not covered, covered


# the heat map's column labels are rotated 45°: their axis-aligned boxes overlap where the glyphs do not
@pytest.mark.parametrize("name", [n for n in FIGURES if n != "matrix_heatmap"])
def test_no_tick_labels_overlap(name, drawn):
    from conftest import tick_label_overlaps
    clashes = tick_label_overlaps(drawn(name).fig)
    assert not clashes, clashes


# ----------------------------------------------------------------------------- the checks can fail

def test_the_size_check_finds_small_text(tmp_path, pngs):
    fig, ax = common.plt.subplots(figsize=(12, 3))      # ~1,500 px after the tight crop: shown at 60 %
    ax.set_title("title at 12 pt")
    ax.text(0.5, 0.5, "6 pt: 7.6 px shown", fontsize=6)
    common.save_figure(fig, tmp_path / "s.png")
    d = pngs[0]
    assert 1300 < d.width_px < 1800
    assert [s for s, _ in small_texts(d)] == ["6 pt: 7.6 px shown"]
    assert d.shown_px(6) == pytest.approx(6 * 150 / 72 * 900 / d.width_px)


def test_the_repr_check_finds_reprs():
    assert repr_fragments("β* per seed: inf") == ["inf"]
    assert repr_fragments("test images [6, 7, 8, 9]") == ["[", "]"]
    assert repr_fragments("model 'clean''s prediction") == ["'", "'", "'"]
    assert repr_fragments("nan %") == ["nan"]
    assert repr_fragments("the model's prediction, β = ∞, test images 6, 7, 8, 9, information") == []


def test_the_legend_check_finds_a_covered_line(tmp_path):
    fig, ax = common.plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0.5, 0.5], label="across the middle")
    ax.legend(loc="center")
    assert covered_data(fig)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    assert not covered_data(fig)
    common.plt.close(fig)
