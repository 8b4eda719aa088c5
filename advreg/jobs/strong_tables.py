"""The strong-evaluation table beside Table 1 from the per-model records (advreg.jobs.strong):
pandas only, no torch (a table job starts without it)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from advreg.claims.statistics import fmt_ci, mean_ci
from advreg.figures.cells import ACCURACY, COUNT, LOWER, NEUTRAL, same_kind

#: the kinds of the shown table (advreg.figures.cells): difference = paper − strong, the accuracy
#: the paper's attack overstates (smaller is better); the cost ratio has no better direction
ROBUSTNESS_KINDS = {**same_kind(["clean", "paper_attack", "strong"], ACCURACY), "difference": LOWER,
                    "seeds": COUNT, "images": COUNT, "eps_255": NEUTRAL, "cost_ratio": NEUTRAL}


def robustness_rows(strong: list[dict]) -> pd.DataFrame:
    """One row per (model, seed, ε) from the strong-evaluation metrics (each record names its own
    model, seed and ε): clean, paper-attack and strong accuracy (same images), paper − strong, and
    the cost ratio strong / paper attack."""
    recs = []
    for s in strong:
        recs.append({"model": s["source"], "seed": s["seed"], "eps_255": s["eps_255"], "n": s["n"],
                     "clean": s["clean_acc"], "paper_attack": s["paper_acc"], "strong": s["strong_acc"],
                     "difference": s["paper_acc"] - s["strong_acc"],
                     "cost_ratio": s["seconds"] / s["paper_seconds"] if s["paper_seconds"] else float("nan")})
    return pd.DataFrame(recs)


def robustness_table(rows: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Mean ± 95 % t-interval over seeds of every column of ``robustness_rows``, per model and
    ε, models in the config's order (the strong-attack table that sits beside Table 1)."""
    out = []
    for (model, eps), g in rows.groupby(["model", "eps_255"], sort=False):
        rec = {"model": model, "eps_255": eps, "seeds": len(g), "images": int(g["n"].iloc[0])}
        for col in ("clean", "paper_attack", "strong", "difference"):
            m, h, _ = mean_ci(g[col])
            rec[col] = fmt_ci(m, h)
            rec[f"{col}_mean"], rec[f"{col}_ci95"] = round(m, 2), round(h, 2)
        rec["cost_ratio"] = round(float(g["cost_ratio"].mean()), 1)
        out.append(rec)
    df = pd.DataFrame(out)
    df["order"] = df["model"].map({m: i for i, m in enumerate(methods)})
    return df.sort_values(["eps_255", "order"]).drop(columns="order").set_index("model")


def robustness_job(metric_files: list, methods: list[str], dataset: str, note: str, out_csv, out_md,
                   out_html, out_rows) -> pd.DataFrame:
    """The robustness_table job: per-seed rows and the mean ± CI table of one dataset, from its
    strong-evaluation records."""
    from advreg.base.atomic import atomic_path
    from advreg.figures.tables import write_table

    metrics = [json.loads(Path(f).read_text()) for f in metric_files]
    rows = robustness_rows(metrics)
    with atomic_path(out_rows) as tmp:
        rows.to_csv(tmp, index=False)
    table = robustness_table(rows, methods)
    shown = table[["eps_255", "seeds", "images", "clean", "paper_attack", "strong", "difference", "cost_ratio"]]
    first = metrics[0]
    caption = (f"{note}Accuracy (%) on {dataset}: clean, under the paper's attack "
               f"({first['paper_attack']}) and under the strong ensemble "
               f"({' → '.join(first['ensemble'])}, each on the images still robust; worst case "
               f"per image), mean ± 95 % t-interval over the seeds; difference = paper − strong; "
               f"cost_ratio = strong seconds / paper-attack seconds on the same images. "
               f"Data: {first['data']}.")
    write_table(table, out_csv)
    numbers = shown.assign(**{c: table[f"{c}_mean"] for c in ("clean", "paper_attack", "strong", "difference")})
    write_table(shown, md_path=out_md, caption=caption, html_path=out_html, html_values=numbers,
                kinds=ROBUSTNESS_KINDS)
    return shown
