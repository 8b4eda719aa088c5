"""The SN experiments' tables: the β sweep, β* by validation accuracy, the published numbers beside
it: pandas only, no torch (a table job starts without it)."""
from __future__ import annotations

import pandas as pd

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
