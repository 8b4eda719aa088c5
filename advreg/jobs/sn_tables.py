"""The SN experiments' tables: the β sweep, β* by validation accuracy, the published numbers beside
it: pandas only, no torch (a table job starts without it)."""
from __future__ import annotations

from importlib import resources

import pandas as pd

from advreg.figures.sn import beta_sweep_figure, gap_figure, margins_figure
from advreg.figures.tables import write_table
from advreg.jobs.seeds import sn_best_ci
from advreg.jobs.verdicts import sn_regime_text
from advreg.sn_modes import parse_beta


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
    write_table(df.set_index(["scheme", "beta", "seed"]).round(6), out["sweep"], html_path=out["sweep_html"],
                caption=f"{note}SN β sweep, {dataset} / {arch}: every (scheme, β, seed)")
    reference = pd.read_csv(resources.files("advreg") / "reference" / "sn_table.csv", dtype={"beta_star": str})
    best = with_published(sn_best_ci(df, best_beta(df)), reference, dataset, arch)
    caption = (f"{note}SN generalization gap, {dataset} / {arch}: accuracy under each scheme's training attack "
               f"(ERM: clean), β = ∞ (no SN) vs the validation-selected β*; paper_*: Farnia et al. 2019 for "
               f"the same dataset/architecture where published; *_ci95: half-width of the 95 % t-interval over the "
               f"{int(best['seeds'].max()) if 'seeds' in best else 1} seeds (empty: one seed); "
               f"{rows[0]['n_train']} training, {rows[0]['n_val']} validation, {rows[0]['n_test']} test images")
    write_table(best.set_index("scheme").round(4), out["csv"], out["md"], caption=caption, html_path=out["html"])
    regime = sn_regime_text(out["sweep"], out["csv"], settings, dataset)
    title = f"{dataset} / {arch}"
    gap_figure(best, out["gap"], title=title, note=note, regime=regime)
    beta_sweep_figure(df, out["sweep_fig"], title=title, note=note)
    margins_figure(rows, margins, best, out["margins_fig"], title=f"{title}: training-set margins", note=note)
    return f"{best.to_string()}\nregime: {regime}"
