"""A verdict on each claim of the claims register (advreg/reference/claims.yaml), computed from a
run's own tables, beside the regime it was measured in.

For every register entry and every dataset of the run that the paper makes the claim about, the
entry's *effect* (``EFFECTS``) is measured once per seed: a paired difference between two models of
the same seed, or between two conditions of one model. Its mean ± 95 % t-interval over the seeds
decides the verdict by the entry's kind (advreg.claims.verdict). Claims about robustness are judged
under the paper's attack and under the strong ensemble; the verdict takes the strong attack where
there is one (a gain that only a weak attack shows is not a gain).

Beside it, the entry's regime indicators (``MEASURES``: the clean model's accuracy and robustness,
training images, widths, the LRC grid, the SN training accuracy, gap and β grid) are compared with
the paper's values within the register's tolerances, so a verdict reached far from the paper's
regime says so. An inconclusive row gives the seeds that would settle it at the observed mean and
spread (advreg.claims.seeds_to_settle).

A claim the run cannot test (a dataset it does not have, a model it did not train) gets a row that
says why. Nothing is typed in by hand: the paper's values come from the published matrices and the
SN paper's table (advreg/reference/), or the register, which cites each one's source.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd

from advreg import claims as C
from advreg.atomic import write_text
from advreg.stats import fmt_ci, mean_ci

PAPERS = {"SGR": "SGR paper (Roth et al. 2018)", "SN": "SN paper (Farnia et al. 2019)"}


class NotTested(Exception):
    """The run cannot measure this effect; the message says why."""


@dataclass
class Case:
    """One measured comparison of a claim: per-seed values under the paper's setting and (for
    robustness) under the strong attack."""
    case: str
    paper: list[float]
    strong: list[float] | None = None
    images: int | None = None
    paper_value: str = "–"


@dataclass
class RunTables:
    """The run's tables, read on first use. ``files``: the paths by kind, dataset, ε and seed (the
    rule's params); ``settings``: advreg.config.run_regime; ``references``: dataset -> ε -> the
    published matrix (or None); ``claim_eps``: dataset -> the paper's Table-1 ε (register
    ``table1_eps_255``), in 1/255."""
    files: dict
    settings: dict
    references: dict
    claim_eps: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)

    def _get(self, key, load):
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def eps(self, ds: str) -> str:
        """The ε (label, 1/255) at which this dataset's Table-1 claims are judged: the paper's
        Table-1 ε where the paper has one (NotTested when the run does not attack at it), else the
        run's smallest ε (the analogue of the paper's ε-small matrix)."""
        run = sorted(self.settings.get("paper_attack_eps", {}).get(ds, []), key=float)
        if ds in self.claim_eps:
            want = C.label(self.claim_eps[ds])
            if want not in map(C.label, run):
                raise NotTested(f"the paper judges this at ε = {want}/255 on {ds}; the run attacks at "
                                f"{', '.join(run) or 'no ε'}")
            return next(e for e in run if C.label(e) == want)
        if not run:
            raise NotTested(f"the run does not attack {ds} with the paper attack")
        return run[0]

    def robustness(self, ds: str) -> pd.DataFrame:
        """Per-seed robustness rows (clean, paper attack, strong) at the claim's ε."""
        def load():
            rows = pd.read_csv(self.files["robustness"][ds])
            return rows[rows["eps_255"].map(C.label) == C.label(self.eps(ds))]
        return self._get(("robustness", ds), load)

    def reference(self, ds: str) -> pd.DataFrame | None:
        name = self.references.get(ds, {}).get(self.eps(ds))
        if not name:
            return None
        return self._get(("reference", ds), lambda: read_reference(name))

    def clean_accuracy(self, ds: str) -> pd.DataFrame:
        return self._get(("clean", ds), lambda: pd.read_csv(self.files["clean_accuracy"][ds], index_col=0))

    def matrices(self, ds: str) -> dict[int, pd.DataFrame]:
        """The paper attack's white-box/transfer matrix of each seed at the claim's ε."""
        files = self.files["matrices"].get(ds, {}).get(self.eps(ds), {})
        if not files:
            raise NotTested("the run builds no transfer matrix for the paper attack")
        return self._get(("matrices", ds), lambda: {int(s): pd.read_csv(p, index_col=0) for s, p in files.items()})

    def lrc(self, ds: str) -> pd.DataFrame | None:
        files = self.files["lrc"].get(ds)
        if not files:
            return None
        return self._get(("lrc", ds), lambda: _stack_seeds(files))

    def decay(self, ds: str) -> pd.DataFrame:
        if not self.files["decay"].get(ds):
            raise NotTested("the run computed no perturbation covariance")
        return self._get(("decay", ds), lambda: _stack_seeds(self.files["decay"][ds]))

    def epoch_seconds(self, ds: str, method: str) -> dict[int, float]:
        """Per seed: the median training seconds per epoch of a model (its history.csv)."""
        files = self.files["histories"].get(ds, {}).get(method, {})
        return {int(s): float(pd.read_csv(p)["seconds"].median()) for s, p in files.items()}

    def sn(self, ds: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(sweep rows, per-scheme β* table) of the SN experiments."""
        if ds not in self.files["sn_sweep"]:
            raise NotTested(f"the run's SN experiments do not include {ds}")
        return self._get(("sn", ds), lambda: (pd.read_csv(self.files["sn_sweep"][ds]),
                                              pd.read_csv(self.files["sn_generalization"][ds])))


def _stack_seeds(files: dict) -> pd.DataFrame:
    """One table of per-seed CSVs ({seed: path}), with their seed as a column."""
    return pd.concat([pd.read_csv(p).assign(seed=int(s)) for s, p in files.items()])


def read_reference(name: str) -> pd.DataFrame:
    """A published matrix shipped in advreg/reference/ (row: model attacked; `test`: clean accuracy)."""
    return pd.read_csv(resources.files("advreg") / "reference" / name, index_col=0)


# ----------------------------------------------------------------------------- effects

def _per_seed(df: pd.DataFrame, model: str, col: str) -> pd.Series:
    return df[df["model"] == model].set_index("seed")[col].astype(float)


def _paired(df: pd.DataFrame, a: str, b: str, col: str) -> pd.Series:
    """Per seed: df[col] of model a minus that of model b, on the seeds both have."""
    wa, wb = _per_seed(df, a, col), _per_seed(df, b, col)
    common = wa.index.intersection(wb.index)
    return wa[common] - wb[common]


def _need(have, wanted, what: str) -> None:
    missing = [m for m in wanted if m not in set(have)]
    if missing:
        raise NotTested(f"needs {what} {', '.join(missing)}, not in this run")


def _paper_number(fn, source) -> str:
    """``fn(source)`` as a signed paper value, "–" where the paper has none (no table, a missing
    row or column, NaN)."""
    if source is None:
        return "–"
    try:
        v = fn(source)
    except KeyError:
        return "–"
    return "–" if pd.isna(v) else f"{v:+.1f}"


def _ref_value(t: RunTables, ds: str, fn) -> str:
    return _paper_number(fn, t.reference(ds))


def whitebox_gain(t: RunTables, ds: str, models: list[str], baseline: str) -> list[Case]:
    """White-box accuracy of each model minus the baseline's, per seed (paper attack and strong),
    at the claim's ε; the paper's value from the published matrix's diagonal."""
    rows = t.robustness(ds)
    have = set(rows["model"])
    _need(have, [baseline], "the model")
    present = [m for m in models if m in have]
    if not present:
        _need(have, models, "the models")
    eps = rows["eps_255"].iloc[0]
    return [Case(f"{m} − {baseline}, ε = {eps}/255", list(_paired(rows, m, baseline, "paper_attack")),
                 list(_paired(rows, m, baseline, "strong")), int(rows["n"].iloc[0]),
                 _ref_value(t, ds, lambda r, m=m: r.loc[m, m] - r.loc[baseline, baseline]))
            for m in present]


def clean_drop(t: RunTables, ds: str, model: str, baseline: str) -> list[Case]:
    """Clean test accuracy of the baseline minus the model's, per seed."""
    acc = t.clean_accuracy(ds)
    _need(acc.index, [model, baseline], "the models")
    seeds = [c for c in acc.columns if re.fullmatch(r"seed\d+", c)]   # not the `seeds` count column
    vals = [float(acc.loc[baseline, s] - acc.loc[model, s]) for s in seeds
            if not (pd.isna(acc.loc[baseline, s]) or pd.isna(acc.loc[model, s]))]
    return [Case(f"{baseline} − {model}, clean test accuracy", vals, None, t.settings.get("clean_max_test"),
                 _ref_value(t, ds, lambda r: r.loc[baseline, "test"] - r.loc[model, "test"]))]


def transfer_to_clean(t: RunTables, ds: str, harmless: list[str], harmful: list[str]) -> list[Case]:
    """Per seed, the clean model's accuracy on the paper attack's examples from the ``harmless``
    models minus that on the ``harmful`` ones' (each group averaged over the models it has)."""
    mats = t.matrices(ds)

    def groups(m: pd.DataFrame):
        a, b = [c for c in harmless if c in m.columns], [c for c in harmful if c in m.columns]
        if "clean" not in m.index or not a or not b:
            raise NotTested(f"needs the clean model and at least one of {', '.join(harmless)} and of "
                            f"{', '.join(harmful)} in the matrix")
        return a, b

    vals = []
    for m in mats.values():
        a, b = groups(m)
        vals.append(float(m.loc["clean", a].mean() - m.loc["clean", b].mean()))
    a, b = groups(next(iter(mats.values())))
    return [Case(f"clean model: mean of {'/'.join(a)} sources − mean of {'/'.join(b)}", vals, None,
                 t.settings.get("max_test"),
                 _ref_value(t, ds, lambda r: r.loc["clean", a].mean() - r.loc["clean", b].mean()))]


def clean_examples_on_regularized(t: RunTables, ds: str, models: list[str]) -> list[Case]:
    """Per seed: the regularized models' accuracy on the clean model's examples minus the clean
    model's accuracy on theirs (each averaged over ``models``): Sec. 4.4's hypothesis (i), the
    regularized models' perturbations are the stronger ones."""
    mats = t.matrices(ds)
    vals = []
    for m in mats.values():
        have = [x for x in models if x in m.index and x in m.columns]
        if "clean" not in m.index or not have:
            raise NotTested(f"needs the clean model and one of {', '.join(models)} in the matrix")
        vals.append(float(m.loc[have, "clean"].mean() - m.loc["clean", have].mean()))
    return [Case(f"{'/'.join(have)} on clean's examples − clean on theirs", vals, None, t.settings.get("max_test"),
                 _ref_value(t, ds, lambda r: r.loc[have, "clean"].mean() - r.loc["clean", have].mean()))]


def transfer_robustness_gap(t: RunTables, ds: str, models: list[str], baseline: str, sources: list[str]) -> list[Case]:
    """Per seed and model: its mean accuracy under the transfer attacks from ``sources`` (those in
    the matrix) minus the baseline's under the same sources."""
    mats = t.matrices(ds)
    first = next(iter(mats.values()))
    present = [m for m in models if m in first.index]
    src = [c for c in sources if c in first.columns]
    if baseline not in first.index or not present or not src:
        raise NotTested(f"needs {baseline}, one of {', '.join(models)} and one of the sources "
                        f"{', '.join(sources)} in the matrix")
    return [Case(f"{m} − {baseline}, mean over transfer from {'/'.join(src)}",
                 [float(mt.loc[m, src].mean() - mt.loc[baseline, src].mean()) for mt in mats.values()], None,
                 t.settings.get("max_test"),
                 _ref_value(t, ds, lambda r, m=m: r.loc[m, src].mean() - r.loc[baseline, src].mean()))
            for m in present]


def untestable(t: RunTables, ds: str, reason: str) -> list[Case]:
    """A claim no table of this pipeline measures (the register says why)."""
    raise NotTested(reason)


def _lrc(t: RunTables, ds: str, noise: str = "lrc") -> pd.DataFrame:
    sw = t.lrc(ds)
    if sw is None:
        raise NotTested("the run has no LRC sweep (lrc.models is empty)")
    sw = sw[sw["noise"] == noise]
    if sw.empty:
        raise NotTested(f"the LRC sweep has no '{noise}' noise" +
                        (" (lrc.data_covariance is off)" if noise == "data" else ""))
    return sw


def _lrc_eps(sw: pd.DataFrame) -> float:
    """The paper's ε = 0.3 where the sweep has it, else its largest."""
    eps = sorted(sw["eps"].unique())
    return 0.3 if any(abs(e - 0.3) < 1e-9 for e in eps) else eps[-1]


def _lrc_gaps(t: RunTables, ds: str, a: str, b: str):
    sw = _lrc(t, ds)
    _need(sw["model"], [a, b], "LRC results of the models")
    eps = _lrc_eps(sw)
    sw = sw[np.isclose(sw["eps"], eps)]
    zmin, zmax = sw["zeta"].min(), sw["zeta"].max()
    long_gap = _paired(sw[sw["zeta"] == zmax], a, b, "worst_of_k_acc")
    short_gap = _paired(sw[sw["zeta"] == zmin], a, b, "worst_of_k_acc")
    return long_gap, short_gap, zmin, zmax, eps, int(sw["n"].iloc[0]), int(sw["k"].iloc[0])


def lrc_gap_longest(t: RunTables, ds: str, a: str, b: str) -> list[Case]:
    long_gap, _, _, zmax, eps, n, k = _lrc_gaps(t, ds, a, b)
    return [Case(f"{a} − {b}, worst-of-{k}, ζ = {zmax:g}, ε = {eps:g}", list(long_gap), None, n,
                 "+25 or more (ζ ≈ 16; Sec. 1 / ICLR)")]


def lrc_gap_shrinks(t: RunTables, ds: str, a: str, b: str) -> list[Case]:
    long_gap, short_gap, zmin, zmax, eps, n, k = _lrc_gaps(t, ds, a, b)
    common = long_gap.index.intersection(short_gap.index)
    # |gap| at the shortest ζ: a large GN advantage there is no convergence either
    # (no "|" in a table cell: Markdown would split the cell)
    return [Case(f"({a} − {b}) at ζ = {zmax:g} minus abs({a} − {b}) at ζ = {zmin:g}, ε = {eps:g}",
                 list(long_gap[common] - short_gap[common].abs()), None, n, "qualitative (Fig. 3)")]


def lrc_data_gap(t: RunTables, ds: str, a: str, b: str, eps: float) -> list[Case]:
    sw = _lrc(t, ds, "data")
    _need(sw["model"], [a, b], "LRC results of the models")
    sw = sw[np.isclose(sw["eps"], eps)]
    if sw.empty:
        raise NotTested(f"the data-covariance sweep has no ε = {eps:g}")
    return [Case(f"{a} − {b}, data covariance, ε = {eps:g}", list(_paired(sw, a, b, "worst_of_k_acc")), None,
                 int(sw["n"].iloc[0]), "+17.1 (CIFAR-10: 65.8 vs 48.7)")]


def decay_shorter(t: RunTables, ds: str) -> list[Case]:
    """Per attack source: the data's decay length minus the perturbations' (pixels), per seed."""
    decay = t.decay(ds)
    out = []
    for src in sorted(s for s in decay["source"].unique() if s != "data"):
        vals = []
        for _, g in decay.groupby("seed"):
            d = g.set_index("source")["decay_length"]
            if "data" in d and src in d:
                vals.append(float(d["data"] - d[src]))
        out.append(Case(f"data − {src} perturbations", vals, None, int(decay["n"].iloc[0]), "qualitative (Fig. 2)"))
    if not out:
        raise NotTested("the run computed no perturbation covariance")
    return out


def lrc_minus_whitebox_gap(t: RunTables, ds: str, a: str, b: str) -> list[Case]:
    """Per seed: (a − b) under LRC noise at the longest ζ minus |a − b| under the white-box attack."""
    long_gap, _, _, zmax, eps, n, _ = _lrc_gaps(t, ds, a, b)
    rows = t.robustness(ds)
    _need(rows["model"], [a, b], "the models")
    out = {}
    for col in ("paper_attack", "strong"):
        wb = _paired(rows, a, b, col).abs()
        common = long_gap.index.intersection(wb.index)
        out[col] = list(long_gap[common] - wb[common])
    return [Case(f"({a} − {b}) LRC ζ = {zmax:g}, ε = {eps:g} minus abs({a} − {b}) white-box", out["paper_attack"],
                 out["strong"], n, "qualitative")]


def representation_loss(t: RunTables, ds: str, source: str) -> list[Case]:
    """White-box accuracy of the covariance-function SGR model minus the full-matrix one's (same
    Σ source), per seed."""
    variants = t.settings.get("sgr_variants", {})
    fn = [m for m, v in variants.items() if v["source"] == source and v["representation"] == "function"]
    full = [m for m, v in variants.items() if v["source"] == source and v["representation"] == "full"]
    if not fn or not full:
        raise NotTested(f"needs an SGR model with Σ from '{source}' in each representation (function and "
                        f"full); this run trains {'none with full' if fn else 'none with function'} "
                        f"(add a method with kind: sgr, source: {source}, representation: full)")
    return whitebox_gain(t, ds, [fn[0]], full[0])


def epoch_time_ratio(t: RunTables, ds: str, model: str, baseline: str) -> list[Case]:
    """Per seed: the model's median training seconds per epoch over the baseline's."""
    a, b = t.epoch_seconds(ds, model), t.epoch_seconds(ds, baseline)
    if not a or not b:
        raise NotTested(f"needs the training histories of {model} and {baseline}, not in this run")
    seeds = sorted(set(a) & set(b))
    return [Case(f"{model} / {baseline}, training seconds per epoch", [a[s] / b[s] for s in seeds], None, None,
                 "not reported as a number")]


def _scheme_rows(t: RunTables, ds: str, schemes: dict) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    sweep, best = t.sn(ds)
    wanted = schemes.get(ds, [])
    present = [s for s in wanted if s in set(best["scheme"])]
    if not present:
        raise NotTested(f"needs the SN schemes {', '.join(wanted)}, none in this run")
    return sweep, best.set_index("scheme"), present


def seed_beta_star(sweep: pd.DataFrame, scheme: str) -> dict[int, str]:
    """Per seed: β* = argmax of that seed's validation accuracy under the training attack, ties to
    the weakest normalization (β = ∞ first, then larger β), the authors' rule (advreg.jobs.sn.best_beta
    applies it to the seed mean for the SN tables). Each seed repeats the whole procedure (train
    every β, validate, pick), so the effects below vary with the pick as they would for a user."""
    out = {}
    for seed, g in sweep[sweep["scheme"] == scheme].groupby("seed"):
        g = g.assign(_b=g["beta"].map(lambda b: float(C.label(b)))).sort_values("_b", ascending=False)
        out[int(seed)] = C.label(g.loc[g["val_adv_acc"].idxmax(), "beta"])
    return out


def _at(sweep: pd.DataFrame, scheme: str, seed: int, beta: str, col: str) -> float:
    g = sweep[(sweep["scheme"] == scheme) & (sweep["seed"] == seed) & (sweep["beta"].map(C.label) == C.label(beta))]
    return float(100 * g[col].iloc[0]) if len(g) else math.nan


def _stars(stars: dict[int, str]) -> str:
    return ", ".join(f"{b}" for b in stars.values())


def _sn_paired(t: RunTables, ds: str, schemes: dict, col: str, sign: int, label: str, paper_cols) -> list[Case]:
    """Per scheme and seed: ``sign`` × (``col`` at the seed's β* − at β = ∞), in points; a seed whose
    validation picks β = ∞ contributes 0 (no SN chosen, no benefit)."""
    sweep, best, present = _scheme_rows(t, ds, schemes)
    out = []
    for s in present:
        stars = seed_beta_star(sweep, s)
        vals = [sign * (_at(sweep, s, seed, b, col) - _at(sweep, s, seed, "inf", col)) for seed, b in stars.items()]
        paper = _paper_number(lambda b: sign * 100 * (b.loc[s, paper_cols[0]] - b.loc[s, paper_cols[1]]), best)
        out.append(Case(label.format(s=s, stars=_stars(stars)), [v for v in vals if not math.isnan(v)], None,
                        int(sweep["n_test"].iloc[0]), paper))
    return out


def sn_test_gain(t: RunTables, ds: str, schemes: dict) -> list[Case]:
    """Per seed: test accuracy under the training attack at the validated β* minus at β = ∞."""
    return _sn_paired(t, ds, schemes, "test_adv_acc", 1, "{s}: at β* (per seed: {stars}) − at β = ∞",
                      ("paper_test_sn", "paper_test_no_sn"))


def sn_beta_star(t: RunTables, ds: str, schemes: dict) -> list[Case]:
    """Per seed: validation accuracy under the training attack of the best finite β minus that of
    β = ∞ (> 0: validation picks a finite β)."""
    sweep, best, present = _scheme_rows(t, ds, schemes)
    out = []
    for s in present:
        finite = sorted({C.label(b) for b in sweep[sweep["scheme"] == s]["beta"]} - {"inf"}, key=float)
        if not finite:
            raise NotTested(f"the β grid of {s} has no finite β")
        stars = seed_beta_star(sweep, s)
        vals = [max(_at(sweep, s, seed, b, "val_adv_acc") for b in finite) - _at(sweep, s, seed, "inf", "val_adv_acc")
                for seed in stars]
        paper = best.loc[s].get("paper_beta_star", np.nan)
        out.append(Case(f"{s}: best finite β − β = ∞ on validation (β* per seed: {_stars(stars)})",
                        [v for v in vals if not math.isnan(v)], None, int(sweep["n_val"].iloc[0]),
                        "–" if pd.isna(paper) else f"β* = {C.label(paper)}"))
    return out


def sn_gap_shrinks(t: RunTables, ds: str, schemes: dict) -> list[Case]:
    """Per seed: the train − test gap under the training attack at β = ∞ minus at the seed's β*."""
    return _sn_paired(t, ds, schemes, "gap", -1, "{s}: gap at β = ∞ − at β* (per seed: {stars})",
                      ("paper_gap_sn", "paper_gap_no_sn"))


#: effect name -> (function, whether it is measured on the SN experiments' datasets)
EFFECTS = {"whitebox_gain": (whitebox_gain, False), "clean_drop": (clean_drop, False),
           "transfer_to_clean": (transfer_to_clean, False), "lrc_gap_longest": (lrc_gap_longest, False),
           "lrc_gap_shrinks": (lrc_gap_shrinks, False), "lrc_data_gap": (lrc_data_gap, False),
           "decay_shorter": (decay_shorter, False), "lrc_minus_whitebox_gap": (lrc_minus_whitebox_gap, False),
           "representation_loss": (representation_loss, False), "epoch_time_ratio": (epoch_time_ratio, False),
           "clean_examples_on_regularized": (clean_examples_on_regularized, False),
           "transfer_robustness_gap": (transfer_robustness_gap, False), "untestable": (untestable, False),
           "sn_test_gain": (sn_test_gain, True), "sn_beta_star": (sn_beta_star, True),
           "sn_gap_shrinks": (sn_gap_shrinks, True)}


# ----------------------------------------------------------------------------- regime measures
# name -> fn(tables, dataset) -> (the run's value, the paper's value or None: the register's)

def _ref_cell(t: RunTables, ds: str, row: str, col: str):
    ref = t.reference(ds)
    if ref is None or row not in ref.index or col not in ref.columns:
        return None
    return float(ref.loc[row, col])


def _clean_row_mean(t: RunTables, ds: str, col: str):
    rows = t.robustness(ds)
    v = _per_seed(rows, "clean", col)
    return float(v.mean()) if len(v) else None


def _clean_clean_acc(t, ds):
    acc = t.clean_accuracy(ds)
    return (float(acc.loc["clean", "mean"]) if "clean" in acc.index else None), _ref_cell(t, ds, "clean", "test")


def _sn_erm(t, ds, col):
    sweep, _ = t.sn(ds)
    g = sweep[(sweep["scheme"] == "ERM") & (sweep["beta"].map(C.label) == "inf")]
    return float(100 * g[col].mean()) if len(g) else None


def _sn_paper_erm_gap(t, ds):
    _, best = t.sn(ds)
    row = best[best["scheme"] == "ERM"]
    return None if row.empty or pd.isna(row["paper_gap_no_sn"].iloc[0]) else float(100 * row["paper_gap_no_sn"].iloc[0])


def _lrc_grid(t, ds, col):
    sw = _lrc(t, ds)
    return sorted(sw[col].unique().tolist())


MEASURES = {
    "clean_clean_acc": _clean_clean_acc,
    "clean_attack_acc": lambda t, ds: (_clean_row_mean(t, ds, "paper_attack"), _ref_cell(t, ds, "clean", "clean")),
    "clean_strong_acc": lambda t, ds: (_clean_row_mean(t, ds, "strong"), _ref_cell(t, ds, "clean", "clean")),
    "training_images": lambda t, ds: (t.settings["datasets"][ds]["training_images"], None),
    "widths": lambda t, ds: (t.settings["datasets"][ds]["widths"], None),
    "epochs": lambda t, ds: (t.settings["datasets"][ds]["epochs"], None),
    "lrc_zetas": lambda t, ds: (_lrc_grid(t, ds, "zeta"), None),
    "lrc_eps": lambda t, ds: (_lrc_grid(t, ds, "eps"), None),
    "lrc_k": lambda t, ds: (int(_lrc(t, ds)["k"].max()), None),
    "pgd_train_steps": lambda t, ds: (t.settings.get("pgd_train_steps"), None),
    "sn_train_acc": lambda t, ds: (_sn_erm(t, ds, "train_adv_acc"), None),
    "sn_erm_gap": lambda t, ds: (_sn_erm(t, ds, "gap"), _sn_paper_erm_gap(t, ds)),
    "sn_betas": lambda t, ds: (sorted(t.sn(ds)[0]["beta"].map(C.label).unique().tolist(), key=float), None),
    "sn_training_images": lambda t, ds: (t.settings["sn"][ds]["training_images"], None),
    "sn_epochs": lambda t, ds: (t.settings["sn"][ds]["epochs"], None),
}


def regime(t: RunTables, indicators: list[dict], ds: str) -> list[dict]:
    """Each indicator of a regime set on one dataset: run, paper, tolerance, within (True/False/None)."""
    out = []
    for ind in indicators:
        try:
            run, paper = MEASURES[ind["measure"]](t, ds)
        except NotTested:
            run, paper = None, None
        if paper is None:
            spec = ind.get("paper", {})
            paper = spec.get(ds, spec.get("any"))
        if paper is None:
            within, tol = None, "no paper value for this dataset"
        else:
            within, tol = C.check_indicator(run, paper, ind["check"])
        out.append({"indicator": ind["name"], "run": C.as_text(run), "paper": C.as_text(paper), "tolerance": tol,
                    "within": within})
    return out


def regime_status(inds: list[dict], ds: str) -> str:
    """'within', 'outside: …' (the indicators out of tolerance) or why nothing was judged."""
    judged = [i for i in inds if i["within"] is not None]
    if not judged:
        return (f"no paper regime: the paper did not run {ds}"
                if all(i["tolerance"] == "no paper value for this dataset" for i in inds) else "not measured")
    bad = [i for i in judged if not i["within"]]
    if not bad:
        return "within"
    return "outside: " + "; ".join(f"{i['indicator']} {i['run']} (paper {i['paper']}, {i['tolerance']})" for i in bad)


def sn_regime_text(sweep_csv, generalization_csv, settings: dict, ds: str, register: dict | None = None) -> str:
    """The SN regime indicators of one dataset (training accuracy reached, ERM gap, β grid,
    training images, epochs) beside the paper's, as the SN figures print them."""
    register = register or C.load_register()
    t = RunTables({"sn_sweep": {ds: sweep_csv}, "sn_generalization": {ds: generalization_csv}}, settings, {})
    return _indicators_text(regime(t, register["regimes"]["sn"], ds))


def _indicators_text(inds: list[dict]) -> str:
    mark = {True: "within", False: "OUTSIDE", None: "not judged"}
    return "; ".join(f"{i['indicator']}: {i['run']} (paper {i['paper']}, {i['tolerance']}: {mark[i['within']]})"
                     for i in inds)


# ----------------------------------------------------------------------------- records

def _test_text(entry: dict) -> str:
    if entry["kind"] == "equivalence":
        return f"equivalence: abs(effect) < {entry['threshold']:g} {entry['unit']}"
    return f"superiority: effect {'>' if entry.get('direction', 'above') == 'above' else '<'} {entry['threshold']:g} {entry['unit']}"


def _judge(entry: dict, vals) -> tuple[str, str, float, float]:
    m, h, _ = mean_ci(vals)
    text = fmt_ci(m, h, 2 if abs(m) < 1 else 1) if not math.isnan(m) else "–"
    return text, C.verdict(entry["kind"], m, h, float(entry["threshold"]), entry.get("direction", "above")), m, h


def _qualified(v: str, status: str) -> str:
    if status == "within":
        return f"{v}, within the paper's regime"
    if status.startswith("outside"):
        return f"{v}, outside the paper's regime: {status[len('outside: '):]}"
    return f"{v} ({status})"


def _base(entry: dict, ds: str) -> dict:
    return {"dataset": ds, "id": entry["id"], "paper": entry["paper"], "section": entry["section"],
            "claim": entry["quote"], "test": _test_text(entry)}


def _not_tested(entry: dict, ds: str, why: str, verdict: str = C.NOT_TESTED) -> dict:
    return {**_base(entry, ds), "case": "–", "effect_paper_setting": "–", "verdict_paper_setting": verdict,
            "effect_strong_attack": "–", "verdict_strong_attack": "–", "verdict": verdict,
            "regime": "–", "verdict_in_regime": f"not tested: {why}", "seeds_to_settle": "–",
            "paper_value": "–", "seeds": 0, "images": "–", "regime_indicators": "–"}


def claim_rows(entry: dict, t: RunTables, run_datasets: list[str], sn_datasets: list[str],
               regimes: dict, stand_ins=(), rehearsal: bool = False) -> tuple[list[dict], list[dict]]:
    """The table rows of one register entry, and the regime indicators it was judged with
    ({dataset, regime, paper, indicators}). A dataset in ``stand_ins`` (a generated stand-in,
    advreg.stand_in) is never judged: its rows read "not tested (stand-in data)". Nor is any dataset
    of a ``rehearsal`` (config `rehearsal: true`): its models train for a step or two at cut sizes,
    so an equivalence of two chance-level models would otherwise read "supported"."""
    fn, on_sn = EFFECTS[entry["effect"]["name"]]
    available = sn_datasets if on_sn else run_datasets
    where = "the run's SN experiments have" if on_sn else "this run has"
    if entry["datasets"] == "any":
        claimed, missing = list(available), []
    else:
        claimed = [d for d in entry["datasets"] if d in available]
        missing = [d for d in entry["datasets"] if d not in available]
    rows = [_not_tested(entry, d, f"the paper makes this claim about {', '.join(entry['datasets'])}; "
                                  f"{where} {', '.join(available) or 'no dataset'}") for d in missing]
    judged = []
    for ds in claimed:
        if ds in stand_ins:
            rows.append(_not_tested(entry, ds, f"{ds} is a synthetic stand-in in this run (data.stand_in), "
                                               f"not the real dataset", C.NOT_TESTED_STAND_IN))
            continue
        if rehearsal:
            rows.append(_not_tested(entry, ds, "this run is a rehearsal (config rehearsal: true): every job "
                                               "at cut sizes, to run its code once; its numbers decide nothing",
                                    C.NOT_TESTED_REHEARSAL))
            continue
        try:
            cases = fn(t, ds, **entry["effect"].get("args", {}))
        except NotTested as e:
            rows.append(_not_tested(entry, ds, str(e)))
            continue
        inds = regime(t, regimes[entry["regime"]], ds)
        judged.append({"dataset": ds, "regime": entry["regime"], "paper": entry["paper"], "indicators": inds})
        status = regime_status(inds, ds)
        for case in cases:
            rows.append(_case_row(entry, ds, case, inds, status))
    return rows, judged


def _case_row(entry: dict, ds: str, case: Case, inds: list[dict], status: str) -> dict:
    p_txt, p_v, pm, _ = _judge(entry, case.paper)
    rec = {**_base(entry, ds), "case": case.case, "effect_paper_setting": p_txt, "verdict_paper_setting": p_v}
    if case.strong is not None:
        s_txt, s_v, sm, _ = _judge(entry, case.strong)
        rec.update(effect_strong_attack=s_txt, verdict_strong_attack=s_v)
        final, dm, dvals = s_v, sm, case.strong
    else:
        rec.update(effect_strong_attack="–", verdict_strong_attack="–")
        final, dm, dvals = p_v, pm, case.paper
    v = np.asarray(dvals, float)
    v = v[~np.isnan(v)]          # the values the verdict comes from: their n and spread
    sd = float(np.std(v, ddof=1)) if len(v) > 1 else math.nan
    rec.update(verdict=final, regime=status,
               verdict_in_regime=_qualified(final, status),
               seeds_to_settle=(C.seeds_to_settle(entry["kind"], dm, sd, len(v), float(entry["threshold"]))
                                if final == C.INCONCLUSIVE else "–"),
               paper_value=case.paper_value, seeds=len(v),
               images="–" if case.images is None else case.images, regime_indicators=_indicators_text(inds))
    return rec


COLUMNS = ["dataset", "id", "paper", "section", "claim", "case", "test", "verdict", "verdict_in_regime",
           "effect_paper_setting", "verdict_paper_setting", "effect_strong_attack", "verdict_strong_attack",
           "paper_value", "seeds", "seeds_to_settle", "images", "regime", "regime_indicators"]


def claim_records(files: dict, settings: dict, references: dict, run_datasets: list[str],
                  sn_datasets: list[str], register: dict | None = None, stand_ins=(), rehearsal: bool = False):
    """Every register entry's rows, and the regime indicators behind them (none in a rehearsal)."""
    register = register or C.load_register()
    t = RunTables(files, settings, references, register.get("table1_eps_255", {}))
    rows, judged = [], []
    for entry in register["claims"]:
        r, j = claim_rows(entry, t, run_datasets, sn_datasets, register["regimes"], stand_ins, rehearsal)
        rows += r
        judged += j
    return rows, judged


def claims_table(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=COLUMNS)


def regime_lines(judged: list[dict]) -> list[str]:
    """One line per paper: how close the run came to its regime, dataset by dataset."""
    lines = []
    for paper, title in PAPERS.items():
        per_ds: dict[str, dict[str, dict]] = {}
        for j in judged:
            if j["paper"] == paper:
                for i in j["indicators"]:
                    per_ds.setdefault(j["dataset"], {})[i["indicator"]] = i
        if not per_ds:
            lines.append(f"**{title}**: no claim of it was tested in this run.")
            continue
        parts = []
        for ds, inds in per_ds.items():
            judged_i = [i for i in inds.values() if i["within"] is not None]
            if not judged_i:
                parts.append(f"{ds}: no paper regime (the paper did not run {ds})")
                continue
            bad = [i for i in judged_i if not i["within"]]
            txt = f"{ds}: {len(judged_i) - len(bad)} of {len(judged_i)} regime indicators within the paper's tolerance"
            if bad:
                txt += " (outside: " + "; ".join(f"{i['indicator']} {i['run']} vs paper {i['paper']}, {i['tolerance']}"
                                                 for i in bad) + ")"
            parts.append(txt)
        lines.append(f"**{title}**: " + " — ".join(parts) + ".")
    return lines


def regime_table(judged: list[dict]) -> pd.DataFrame:
    seen, rows = set(), []
    for j in judged:
        ds, name = j["dataset"], j["regime"]
        for i in j["indicators"]:
            key = (ds, name, i["indicator"])
            if key not in seen:
                seen.add(key)
                rows.append({"dataset": ds, "regime": name, **i,
                             "within": {True: "within", False: "outside", None: "not judged"}[i["within"]]})
    return pd.DataFrame(rows, columns=["dataset", "regime", "indicator", "run", "paper", "tolerance", "within"])


def write_claims(table: pd.DataFrame, judged, csv_path, md_path, regime_md, run_name: str, html_path=None) -> None:
    from advreg.figures.tables import write_table

    counts = table["verdict"].value_counts().to_dict()
    caption = (
        f"Verdict on each claim of the two papers in the claims register (advreg/reference/claims.yaml), "
        f"from the tables of run `{run_name}` only; each claim is quoted from the paper and judged only "
        f"on the datasets the paper makes it about. Effect = mean ± 95 % t-interval over seeds of a "
        f"per-seed paired difference. Superiority: supported when the whole interval lies beyond the "
        f"threshold in the claimed direction, contradicted when it lies wholly on the other side. "
        f"Equivalence: supported when the whole interval lies inside ± the threshold, contradicted when "
        f"it lies wholly outside. Otherwise, or with one seed, inconclusive. Robustness claims take the "
        f"strong attack. `regime`: the run's regime indicators against the paper's values and the "
        f"register's tolerances. `seeds_to_settle`: the smallest N ≥ 2 with t(0.975, N−1)·s/√N below the "
        f"distance of the observed mean from the threshold (equivalence: from ± the threshold), s the "
        f"observed standard deviation over seeds, i.e. if mean and spread stay as observed. Totals: "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".")
    write_table(table.set_index("dataset"), csv_path, md_path, caption=caption, html_path=html_path)
    lines = regime_lines(judged)
    text = "\n".join(f"- {line}" for line in lines) + "\n\n" + regime_table(judged).to_markdown(index=False) + "\n"
    write_text(regime_md, text)
