"""The SN experiments' tables: the β sweep, β* by validation accuracy, the published numbers beside
it: pandas only, no torch (a table job starts without it).

Units: the CSVs (sn_sweep_<dataset>.csv, sn_generalization_<dataset>.csv, read by
advreg.jobs.verdicts and the SN figures) hold accuracies, gaps, their ``_ci95`` half-widths and the
paper's numbers as FRACTIONS (0-1), as the authors' code reports them; the Markdown and HTML views
show the same columns in % (× 100, headers ending " (%)", advreg.figures.cells.percent_view), the
unit of every other table of the run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from advreg.claims.published import sn_table
from advreg.figures.cells import ACCURACY, COUNT, LOWER, NEUTRAL, percent_name, percent_view
from advreg.figures.sn import beta_sweep_figure, gap_figure, margins_figure
from advreg.figures.tables import write_table
from advreg.jobs.seed_tables import sn_best_ci
from advreg.jobs.verdicts import sn_regime_text
from advreg.nn.sn_modes import parse_beta

_SPLITS = ("train", "val", "test")
# the sweep's fractions: accuracy per split (under the scheme's training attack, and clean), the gap
SWEEP_ACCURACIES = [f"{s}_{a}_acc" for s in _SPLITS for a in ("adv", "clean")]
# the generalization table's fractions: ours at β = ∞ and β*, each with its interval, and the paper's
BEST_ACCURACIES = [f"{k}_{tag}" for k in ("train_adv_acc", "test_adv_acc") for tag in ("no_sn", "sn")] + \
    ["paper_test_no_sn", "paper_test_sn"]
BEST_GAPS = ["gap_no_sn", "gap_sn", "paper_gap_no_sn", "paper_gap_sn"]
BEST_INTERVALS = [f"{c}_ci95" for c in BEST_ACCURACIES + BEST_GAPS if not c.startswith("paper_")]


def _kinds(accuracies: list[str], gaps: list[str], plain: list[str], counts: list[str]) -> dict[str, str]:
    """Kinds (advreg.figures.cells) by the shown, percent, column names."""
    return {**{percent_name(c): ACCURACY for c in accuracies}, **{percent_name(c): LOWER for c in gaps},
            **{percent_name(c): NEUTRAL for c in plain}, **{c: COUNT for c in counts}}


SWEEP_KINDS = _kinds(SWEEP_ACCURACIES, ["gap"], [], ["seed", "epochs_trained", "n_train", "n_val", "n_test"])
BEST_KINDS = _kinds(BEST_ACCURACIES, BEST_GAPS, BEST_INTERVALS, ["seeds"])


def sweep_table(rows: list[dict], scheme_order: list[str], beta_order: list[str]) -> pd.DataFrame:
    """All rows, ordered by scheme (``scheme_order``: the config's method names) then β then seed."""
    df = pd.DataFrame(rows)
    df["method"] = pd.Categorical(df["method"], scheme_order, ordered=True)
    df["beta"] = pd.Categorical(df["beta"], sorted(beta_order, key=parse_beta), ordered=True)  # ∞ last
    df = df.sort_values(["method", "beta", "seed"]).reset_index(drop=True)
    df["scheme"] = pd.Categorical(df["scheme"], list(dict.fromkeys(df["scheme"])), ordered=True)
    return df


def best_beta(df: pd.DataFrame) -> pd.DataFrame:
    """Per scheme (seeds averaged): the β = ∞ row next to the β* row, β* = argmax validation
    accuracy under the training attack over the whole sweep (the authors' ``print_best_beta``)."""
    mean = (df.groupby(["scheme", "beta"], observed=True)
            [["train_adv_acc", "val_adv_acc", "test_adv_acc", "gap", "spectral_product"]].mean().reset_index())
    out = []
    for scheme, g in mean.groupby("scheme", observed=True):
        base = g[g["beta"] == "inf"]
        # ties go to the weakest normalization: β = ∞ first, then larger β (the authors' grids
        # list ∞ first and take the first maximum)
        order = g.assign(_b=[parse_beta(b) for b in g["beta"]]).sort_values("_b", ascending=False)
        star = order.loc[order["val_adv_acc"].idxmax()]
        r = {"scheme": scheme, "beta_star": star["beta"]}
        for tag, src in (("no_sn", base.iloc[0] if len(base) else None), ("sn", star)):
            for k in ("train_adv_acc", "test_adv_acc", "gap"):
                r[f"{k}_{tag}"] = float("nan") if src is None else float(src[k])
        out.append(r)
    return pd.DataFrame(out)


def with_published(best: pd.DataFrame, reference: pd.DataFrame, dataset: str, arch: str) -> pd.DataFrame:
    """Add the paper's numbers (advreg/reference/sn_table.csv) for the same dataset/architecture."""
    ref = reference[(reference["dataset"] == dataset) & (reference["arch"] == arch)]
    ref = ref.assign(paper_gap_no_sn=ref["train_no_sn"] - ref["test_no_sn"],
                     paper_gap_sn=ref["train_sn"] - ref["test_sn"])
    ref = ref.rename(columns={"beta_star": "paper_beta_star", "test_no_sn": "paper_test_no_sn",
                              "test_sn": "paper_test_sn"})
    cols = ["scheme", "paper_beta_star", "paper_test_no_sn", "paper_test_sn", "paper_gap_no_sn", "paper_gap_sn"]
    return best.merge(ref[cols], on="scheme", how="left")


def write_sn_results(rows: list[dict], margins: list, schemes: list[str], betas: list[str], dataset: str,
                     arch: str, note: str, settings: dict, out: dict) -> str:
    """The SN experiment's outputs for one dataset (Farnia et al. 2019, Sec. 4): the β sweep table,
    β* per scheme by validation beside the published values, and the gap, β-sweep and margin
    figures. ``out``: sweep, sweep_html, csv, md, html, gap, sweep_fig, margins_fig. Returns the
    log text."""
    df = sweep_table(rows, schemes, betas)
    sweep = df.set_index(["scheme", "beta", "seed"]).round(6)
    write_table(sweep, out["sweep"])
    write_table(percent_view(sweep, [*SWEEP_ACCURACIES, "gap"]), html_path=out["sweep_html"], kinds=SWEEP_KINDS,
                caption=f"{note}SN β sweep, {dataset} / {arch}: every (scheme, β, seed); accuracies and the gap "
                        f"(train − test under the scheme's training attack) in % (the CSV: fractions)")
    best = with_published(sn_best_ci(df, best_beta(df)), sn_table(), dataset, arch)
    caption = (f"{note}SN generalization gap, {dataset} / {arch}: accuracy under each scheme's training attack "
               f"(ERM: clean), β = ∞ (no SN) vs the validation-selected β*; paper_*: Farnia et al. 2019 for "
               f"the same dataset/architecture where published; *_ci95: half-width of the 95 % t-interval over the "
               f"{int(best['seeds'].max()) if 'seeds' in best else 1} seeds (empty: one seed); "
               f"{rows[0]['n_train']} training, {rows[0]['n_val']} validation, {rows[0]['n_test']} test images; "
               f"accuracies, gaps and intervals in % (the CSV: fractions)")
    table = best.set_index("scheme").round(4)
    write_table(table, out["csv"])
    write_table(percent_view(table, [*BEST_ACCURACIES, *BEST_GAPS, *BEST_INTERVALS]), md_path=out["md"],
                caption=caption, html_path=out["html"], kinds=BEST_KINDS)
    regime = sn_regime_text(out["sweep"], out["csv"], settings, dataset)
    title = f"{dataset} / {arch}"
    gap_figure(best, out["gap"], title=title, note=note, regime=regime)
    beta_sweep_figure(df, out["sweep_fig"], title=title, note=note)
    margins_figure(rows, margins, best, out["margins_fig"], title=f"{title}: training-set margins", note=note)
    return f"{best.to_string()}\nregime: {regime}"


def sn_results_job(row_paths: list, margin_paths: list, schemes: list[str], betas: list[str], dataset: str,
                   arch: str, note: str, settings: dict, out: dict) -> str:
    """The sn_results rule: ``write_sn_results`` from the evaluate_sn jobs' rows and margins."""
    return write_sn_results([json.loads(Path(f).read_text()) for f in row_paths], [np.load(f) for f in margin_paths],
                            schemes, betas, dataset, arch, note, settings, out)
