"""A verdict on each quantitative claim of the two papers, computed from a run's own tables.

Every claim is an *effect* measured once per seed (a paired difference between two models of the
same seed, or between two conditions of one model), summarised as mean ± 95 % t-interval over the
seeds (advreg.stats), and compared with a threshold in the claimed direction:

- **supported**: the whole interval lies on the claimed side of the threshold;
- **contradicted**: the whole interval lies on the other side;
- **inconclusive**: the interval contains the threshold, or there is a single seed (no interval).

``*_paper_setting`` columns measure the effect as the paper does (its attack, its noise, its
statistic); ``*_strong_attack`` columns repeat robustness effects under the strong ensemble.
Effects are in accuracy points (the SN gaps too), decay lengths in pixels.

Claims about robustness are judged twice, under the paper's attack and under the strong ensemble;
the verdict column uses the strong attack where there is one (a gain that only a weak attack shows
is not a gain). Nothing here is typed in by hand: the paper's values come from the published
matrices (advreg/reference/) and the SN table's paper columns, where the run has them.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from advreg.stats import fmt_ci, mean_ci

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"


def verdict(mean: float, half: float, threshold: float = 0.0) -> str:
    """The rule above for a claim 'effect > threshold'."""
    if math.isnan(mean) or math.isnan(half):
        return INCONCLUSIVE
    if mean - half > threshold:
        return SUPPORTED
    if mean + half < threshold:
        return CONTRADICTED
    return INCONCLUSIVE


def _effect(values) -> tuple[str, float, float, int]:
    m, h, n = mean_ci(values)
    return fmt_ci(m, h, 2 if abs(m) < 1 else 1), m, h, n


def _paired_series(df: pd.DataFrame, a: str, b: str, col: str) -> pd.Series:
    """Per seed (index): df[col] of model a minus that of model b, seeds present for both."""
    wa = df[df["model"] == a].set_index("seed")[col].astype(float)
    wb = df[df["model"] == b].set_index("seed")[col].astype(float)
    common = wa.index.intersection(wb.index)
    return wa[common] - wb[common]


def _paired(df: pd.DataFrame, a: str, b: str, col: str) -> list[float]:
    return list(_paired_series(df, a, b, col))


def _row(dataset, claim, source, paper_vals, strong_vals, threshold, paper_value, n_images=None):
    p_txt, pm, ph, n = _effect(paper_vals)
    rec = {"dataset": dataset, "claim": claim, "source": source, "seeds": n,
           "threshold": threshold, "effect_paper_setting": p_txt,
           "verdict_paper_setting": verdict(pm, ph, threshold)}
    if strong_vals is not None:
        s_txt, sm, sh, _ = _effect(strong_vals)
        rec["effect_strong_attack"], rec["verdict_strong_attack"] = s_txt, verdict(sm, sh, threshold)
    else:
        rec["effect_strong_attack"], rec["verdict_strong_attack"] = "n/a", "n/a"
    rec["paper_value"] = paper_value
    rec["images"] = n_images
    rec["verdict"] = rec["verdict_strong_attack"] if strong_vals is not None else rec["verdict_paper_setting"]
    return rec


def _paper_diag(reference: pd.DataFrame | None, a: str, b: str):
    if reference is None or a not in reference.index or b not in reference.index:
        return "–"
    return round(float(reference.loc[a, a] - reference.loc[b, b]), 1)


def robustness_claims(dataset: str, rows: pd.DataFrame, reference: pd.DataFrame | None,
                      pgd_gap: float = 5.0) -> list[dict]:
    """Table 1 claims from the per-seed robustness rows (advreg.jobs.strong.robustness_rows) at
    the largest ε evaluated."""
    rows = rows[rows["eps_255"].astype(str) == str(max(rows["eps_255"], key=float))]
    n = int(rows["n"].iloc[0])
    eps = rows["eps_255"].iloc[0]
    src = f"white-box accuracy, ε = {eps}/255, points"
    out = []
    have = set(rows["model"])
    for m, name in (("gn", "GN"), ("sgr_sign", "SGR (sign)"), ("sgr_grad", "SGR (grad)"), ("pgd", "PGD training")):
        if m in have and "clean" in have:
            out.append(_row(dataset, f"{name} raises white-box robustness over clean (effect: {m} − clean)", src,
                            _paired(rows, m, "clean", "paper_attack"), _paired(rows, m, "clean", "strong"),
                            0.0, _paper_diag(reference, m, "clean"), n))
    if {"sgr_sign", "gn"} <= have:
        out.append(_row(dataset, "SGR is at least as robust as GN (effect: sgr_sign − gn)", src,
                        _paired(rows, "sgr_sign", "gn", "paper_attack"), _paired(rows, "sgr_sign", "gn", "strong"),
                        0.0, _paper_diag(reference, "sgr_sign", "gn"), n))
    if {"sgr_sign", "pgd"} <= have:
        out.append(_row(dataset, f"SGR approaches PGD training: within {pgd_gap:g} points "
                                 f"(effect: sgr_sign − pgd > −{pgd_gap:g})", src,
                        _paired(rows, "sgr_sign", "pgd", "paper_attack"), _paired(rows, "sgr_sign", "pgd", "strong"),
                        -pgd_gap, _paper_diag(reference, "sgr_sign", "pgd"), n))
    return out


def lrc_claims(dataset: str, sweep: pd.DataFrame) -> list[dict]:
    """Sec. 4.3: SGR beats GN on LRC noise at the longest decay length, and the two converge as
    ζ → 0 (the SGR − GN gap is larger at the longest ζ than at the shortest), at the largest ε."""
    sw = sweep[(sweep["noise"] == "lrc") & (sweep["eps"] == sweep["eps"].max())]
    if not {"sgr_sign", "gn"} <= set(sw["model"]):
        return []
    zmin, zmax, eps = sw["zeta"].min(), sw["zeta"].max(), sw["eps"].max()
    acc = "worst_of_k_acc"

    long_gap = _paired_series(sw[sw["zeta"] == zmax], "sgr_sign", "gn", acc)
    short_gap = _paired_series(sw[sw["zeta"] == zmin], "sgr_sign", "gn", acc)
    common = long_gap.index.intersection(short_gap.index)
    src = f"LRC worst-of-k accuracy, ε = {eps:g}, points"
    n = int(sw["n"].iloc[0])
    return [_row(dataset, f"SGR beats GN against LRC noise at long decay length (ζ = {zmax:g}; effect: sgr_sign − gn)",
                 src, list(long_gap), None, 0.0, "+17.1 (CIFAR-10 data covariance, ε = 0.3)", n),
            _row(dataset, f"SGR converges to GN as ζ → 0 (effect: (sgr_sign − gn) at ζ = {zmax:g} minus at ζ = {zmin:g})",
                 src, list(long_gap[common] - short_gap[common]), None, 0.0, "qualitative (Fig. 3)", n)]


def structure_claims(dataset: str, decay: pd.DataFrame) -> list[dict]:
    """Sec. 4.2: adversarial perturbations have a shorter decay length than the data (per seed:
    data decay length − that of each attack's perturbations, in pixels)."""
    out = []
    for src in sorted(s for s in decay["source"].unique() if s != "data"):
        vals = []
        for seed, g in decay.groupby("seed"):
            d = g.set_index("source")["decay_length"]
            if "data" in d and src in d:
                vals.append(float(d["data"] - d[src]))
        out.append(_row(dataset, f"{src} perturbations have shorter-range covariance than the data "
                                 f"(effect: data decay length − perturbations')", "decay length at 1/e, pixels",
                        vals, None, 0.0, "qualitative (Fig. 2: shorter)", int(decay["n"].iloc[0])))
    return out


def sn_claims(dataset: str, sweep: pd.DataFrame, generalization: pd.DataFrame) -> list[dict]:
    """Farnia et al.: SN shrinks the adversarial generalization gap of FGM/PGM/WRM training
    (per seed: gap without SN − gap at the smallest β), and validation picks a finite β."""
    out = []
    n_test = int(sweep["n_test"].iloc[0]) if "n_test" in sweep else None
    for scheme, g in sweep.groupby("scheme", sort=False):
        if scheme == "ERM":
            continue
        betas = g["beta"].astype(str)
        finite = sorted({b for b in betas if b != "inf"}, key=float)
        if not finite or "inf" not in set(betas):
            continue
        no_sn = 100 * g[betas == "inf"].set_index("seed")["gap"]
        sn = 100 * g[betas == finite[0]].set_index("seed")["gap"]
        common = no_sn.index.intersection(sn.index)
        gen = generalization.set_index("scheme").loc[scheme] if scheme in set(generalization["scheme"]) else None
        paper = (round(100 * float(gen["paper_gap_no_sn"] - gen["paper_gap_sn"]), 2)
                 if gen is not None and not pd.isna(gen.get("paper_gap_no_sn", np.nan)) else "–")
        out.append(_row(dataset, f"SN shrinks the generalization gap of {scheme} training "
                                 f"(effect: gap at β = ∞ − gap at β = {finite[0]})",
                        "train − test accuracy under the training attack, points", list((no_sn[common] - sn[common]).astype(float)),
                        None, 0.0, paper, n_test))
        if gen is not None:
            picked = str(gen["beta_star"])
            rec = {"dataset": dataset, "claim": f"validation picks a finite β for {scheme}", "source": "β* on validation",
                   "seeds": int(len(common)), "threshold": "", "effect_paper_setting": f"β* = {picked}",
                   "verdict_paper_setting": CONTRADICTED if picked == "inf" else SUPPORTED,
                   "effect_strong_attack": "n/a", "verdict_strong_attack": "n/a",
                   # a dataset the paper did not run (Fashion-MNIST) has no published β*: "–", not "nan"
                   "paper_value": "–" if pd.isna(gen.get("paper_beta_star", np.nan)) else str(gen["paper_beta_star"]),
                   "images": n_test}
            rec["verdict"] = rec["verdict_paper_setting"]
            out.append(rec)
    return out


def claims_table(records: list[dict]) -> pd.DataFrame:
    cols = ["dataset", "claim", "verdict", "effect_paper_setting", "verdict_paper_setting",
            "effect_strong_attack", "verdict_strong_attack", "paper_value", "threshold", "seeds", "images", "source"]
    return pd.DataFrame(records, columns=cols)


def claim_records(datasets, seeds, sn_datasets, robustness, lrc, decay, sn_sweep, sn_generalization,
                  references: dict, pgd_gap: float) -> list[dict]:
    """Every claim's record from the run's files: ``robustness`` (per-seed rows) per dataset,
    ``lrc`` and ``decay`` per (dataset, seed) in that order, the SN tables per SN dataset;
    ``references``: dataset -> published matrix file name (or None)."""
    from advreg.jobs.transfer import load_reference

    records = []
    by_ds = lambda files: {ds: files[k * len(seeds):(k + 1) * len(seeds)] for k, ds in enumerate(datasets)}  # noqa: E731
    lrc_files, decay_files = by_ds(list(lrc)), by_ds(list(decay))
    for k, ds in enumerate(datasets):
        ref = load_reference(references[ds]) if references.get(ds) else None
        records += robustness_claims(ds, pd.read_csv(robustness[k]), ref, pgd_gap)
        if lrc_files.get(ds):
            sweeps = [pd.read_csv(f).assign(seed=s) for f, s in zip(lrc_files[ds], seeds)]
            records += lrc_claims(ds, pd.concat(sweeps))
        tables = [pd.read_csv(f).assign(seed=s) for f, s in zip(decay_files[ds], seeds)]
        records += structure_claims(ds, pd.concat(tables))
    for k, ds in enumerate(sn_datasets):
        records += sn_claims(ds, pd.read_csv(sn_sweep[k]), pd.read_csv(sn_generalization[k]))
    return records


def write_claims(table: pd.DataFrame, csv_path, md_path, run_name: str, html_path=None) -> None:
    from advreg.figures.tables import write_table

    counts = table["verdict"].value_counts().to_dict()
    caption = (f"Verdict on each quantitative claim of the two papers, from the tables of run "
               f"`{run_name}` only. Effect = mean ± 95 % t-interval over seeds of a per-seed paired "
               f"difference; supported when the whole interval lies beyond the threshold in the "
               f"claimed direction, contradicted when it lies wholly on the other side, inconclusive "
               f"otherwise or with one seed. The verdict column uses the strong attack where the claim "
               f"is about robustness. Totals: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".")
    write_table(table.set_index("dataset"), csv_path, md_path, caption=caption, html_path=html_path)
