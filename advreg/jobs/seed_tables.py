"""Tables over training seeds: per-seed tables of one layout become one table of mean ± 95 %
t-interval per cell with its n (so a reader sees how uncertain each number is), and the
published-matrix comparison flags a cell only when the paper's value lies outside our interval
widened by a stated tolerance.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from advreg.claims.statistics import fmt_ci, mean_ci
from advreg.figures.cells import ACCURACY, COUNT, FLAG, NEUTRAL, same_kind
from advreg.figures.tables import write_table
from advreg.jobs.transfer_tables import load_reference


class SeedTableError(ValueError):
    pass


def stack(frames: dict[int, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Per-cell (mean, half-width) over the seeds' tables (``frames``: seed -> table, all with the
    same rows and columns); n = the number of seeds. One seed: half-width NaN (no interval)."""
    if not frames:
        raise SeedTableError("no per-seed tables to combine")
    seeds = sorted(frames)
    first = frames[seeds[0]]
    for s in seeds[1:]:
        f = frames[s]
        if list(f.index) != list(first.index) or list(f.columns) != list(first.columns):
            raise SeedTableError(
                f"seed {s}'s table has rows {list(f.index)} and columns {list(f.columns)}; seed "
                f"{seeds[0]}'s has {list(first.index)} and {list(first.columns)}: cannot combine")
    cube = np.stack([frames[s].to_numpy(dtype=float) for s in seeds])   # seeds × rows × columns
    mean = np.full(cube.shape[1:], math.nan)
    half = np.full(cube.shape[1:], math.nan)
    for i in range(cube.shape[1]):
        for j in range(cube.shape[2]):
            mean[i, j], half[i, j], _ = mean_ci(cube[:, i, j])
    as_df = lambda a: pd.DataFrame(a, index=first.index, columns=first.columns)  # noqa: E731
    return as_df(mean), as_df(half), len(seeds)


def ci_cells(mean: pd.DataFrame, half: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """'mean ± half' strings, cell by cell (the Markdown view of a stacked table)."""
    return pd.DataFrame([[fmt_ci(m, h, digits) for m, h in zip(mr, hr)]
                         for mr, hr in zip(mean.to_numpy(), half.to_numpy())],
                        index=mean.index, columns=mean.columns)


def wide(mean: pd.DataFrame, half: pd.DataFrame, n: int) -> pd.DataFrame:
    """The CSV of a stacked table: each column followed by its ``ci95`` half-width, then n seeds."""
    out = pd.DataFrame(index=mean.index)
    for c in mean.columns:
        out[c] = mean[c]
        out[f"{c} ci95"] = half[c]
    out["seeds"] = n
    return out


def grouped_ci(df: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """Per group of ``keys`` (seeds pooled as the samples): mean, ci95 and n of each value column."""
    missing = [k for k in [*keys, *values] if k not in df.columns]
    if missing:
        raise SeedTableError(f"table has no column(s) {missing}; it has {list(df.columns)}")
    out = []
    for key, g in df.groupby(keys, sort=False, dropna=False):   # keep NaN keys (ζ of the data-covariance noise)
        r = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        for v in values:
            m, h, n = mean_ci(g[v])
            r.update({v: m, f"{v}_ci95": h})
        r["seeds"] = n
        out.append(r)
    return pd.DataFrame(out)


def seed_columns_ci(df: pd.DataFrame, seed_cols: list[str]) -> pd.DataFrame:
    """A table with one column per seed gains mean, ci95 and n seeds columns."""
    stats = [mean_ci(row) for row in df[seed_cols].to_numpy()]
    return df.assign(mean=[s[0] for s in stats], ci95=[s[1] for s in stats], seeds=[int(s[2]) for s in stats])


def seed_columns_kinds(df: pd.DataFrame, kind: str = ACCURACY) -> dict[str, str]:
    """The kinds (advreg.figures.cells) of a table ``seed_columns_ci`` made: each seed's column (the
    columns before the ``mean`` it appended) and the mean are ``kind``; the interval and the seed
    count are not coloured; a column added later is not declared here."""
    seed_cols = list(df.columns[: df.columns.get_loc("mean")])
    return {**same_kind([*seed_cols, "mean"], kind), "ci95": NEUTRAL, "seeds": COUNT}


#: the kinds of ``compare_to_paper``'s table: our and the paper's accuracies on the accuracy scale;
#: the difference from the paper has no better sign, so it is not coloured: ``flagged`` (outside
#: the interval widened by the tolerance) is what colours a row as a problem
COMPARISON_KINDS = {"ours": ACCURACY, "paper": ACCURACY, "ci95": NEUTRAL, "difference": NEUTRAL, "flagged": FLAG}


def compare_to_paper(mean: pd.DataFrame, half: pd.DataFrame, n: int, paper: pd.DataFrame,
                     tolerance: float) -> tuple[pd.DataFrame, dict]:
    """Cell by cell over the cells both matrices have: our mean and interval, the paper's value,
    and ``flagged`` when the paper's value lies outside [mean − half − tolerance, mean + half +
    tolerance] (one seed: no interval, so mean ± tolerance). Summary: mean |difference|, flagged
    count, and whether each model's white-box gain over ``clean`` has the paper's sign."""
    rows = [r for r in paper.index if r in mean.index]
    cols = [c for c in paper.columns if c in mean.columns]
    if not rows or "test" not in cols:
        raise SeedTableError("the published matrix and ours share no rows/columns")
    recs = []
    for r in rows:
        for c in cols:
            o, h, p = float(mean.loc[r, c]), float(half.loc[r, c]), float(paper.loc[r, c])
            width = (0.0 if math.isnan(h) else h) + tolerance
            recs.append({"target_model": r, "source": c, "ours": round(o, 2),
                         "ci95": None if math.isnan(h) else round(h, 2), "paper": p,
                         "difference": round(o - p, 2), "flagged": bool(abs(o - p) > width)})
    table = pd.DataFrame(recs)
    gains = {}
    if "clean" in rows and "clean" in cols:
        for r in rows:
            if r != "clean" and r in cols:
                g_ours = mean.loc[r, r] - mean.loc["clean", "clean"]
                g_paper = paper.loc[r, r] - paper.loc["clean", "clean"]
                gains[r] = bool(np.sign(g_ours) == np.sign(g_paper))
    summary = {"cells": len(table), "seeds": n,
               "mean_abs_difference": round(float(table["difference"].abs().mean()), 2),
               "flagged": int(table["flagged"].sum()), "tolerance": tolerance,
               "whitebox_gain_sign_agreement": (f"{sum(gains.values())}/{len(gains)}" if gains else "n/a"),
               "disagreeing_rows": [r for r, ok in gains.items() if not ok]}
    return table, summary


def comparison_line(name: str, s: dict) -> str:
    rule = (f"the paper's value lies outside our 95 % interval over {s['seeds']} seeds widened by "
            f"±{s['tolerance']} points" if s["seeds"] > 1 else
            f"the paper's value differs from ours by more than ±{s['tolerance']} points (one seed: no "
            f"interval)")
    return (f"{name}: {s['cells']} cells, mean |ours − paper| = {s['mean_abs_difference']} points; "
            f"{s['flagged']} flagged, a cell is flagged when {rule}; white-box gain over clean has the "
            f"paper's sign in {s['whitebox_gain_sign_agreement']} rows"
            + (f" (not: {', '.join(s['disagreeing_rows'])})" if s["disagreeing_rows"] else ""))


def paper_comparison_job(tables: dict, reference: str, tolerance: float, title: str, note: str,
                         csv_out, md_out, html_out) -> tuple[str, dict]:
    """The paper_comparison rule: our transfer matrix over seeds (``tables``: seed -> matrix CSV)
    beside the published one (``reference``, advreg/reference/), each cell's difference flagged
    where it exceeds the interval widened by ``tolerance``; written as CSV, Markdown and HTML.
    Returns the caption line and the summary counts."""
    mean, half, n = stack({s: pd.read_csv(f, index_col=0) for s, f in tables.items()})
    table, summary = compare_to_paper(mean, half, n, load_reference(reference), tolerance)
    line = note + comparison_line(f"{title} vs {reference}", summary)
    write_table(table.set_index("target_model"), csv_out, md_out, caption=line, html_path=html_out,
                kinds=COMPARISON_KINDS)
    return line, summary


def sn_best_ci(sweep: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """The SN table (``best``: one row per scheme, β* chosen on seed-averaged validation accuracy)
    with each accuracy and gap's 95 % interval over the seeds at β = ∞ and at β*."""
    out = best.copy()
    for i, r in best.iterrows():
        g = sweep[sweep["scheme"] == r["scheme"]]
        for tag, beta in (("no_sn", "inf"), ("sn", r["beta_star"])):
            at = g[g["beta"] == beta]
            for k in ("train_adv_acc", "test_adv_acc", "gap"):
                m, h, n = mean_ci(at[k]) if len(at) else (math.nan, math.nan, 0)
                out.loc[i, f"{k}_{tag}_ci95"] = h
            out.loc[i, "seeds"] = n
    order = [c2 for c in best.columns for c2 in (c, f"{c}_ci95") if c2 in out.columns]
    out["seeds"] = out["seeds"].astype(int)   # a count (set cell by cell, it was a float column)
    return out[[*order, "seeds"]]


def spread_text(n: int, seeds: list) -> str:
    """How a table over seeds states its spread: the interval and the seeds it pools, or that one
    seed gives none."""
    listed = ", ".join(map(str, seeds))
    return f"mean ± 95 % t-interval over n = {n} seeds ({listed})" if n > 1 else f"one seed ({listed}): no interval"


def write_over_seeds(frames: dict[int, pd.DataFrame], caption_head: str, data: str, csv_path,
                     md_path, html_path, kinds: dict | None = None) -> str:
    """One table over seeds from per-seed tables of one layout (``frames``: seed -> table): the CSV
    in the ``wide`` layout, the Markdown and HTML views with "mean ± half" cells and a caption that
    names the seeds and the data. ``kinds``: the columns' kinds (advreg.figures.cells); by default
    every column is an accuracy (%), as in the transfer matrices. Returns the caption and the shown
    table (for the job's log)."""
    mean, half, n = stack(frames)
    caption = f"{caption_head}; {spread_text(n, sorted(frames))}. Data: {data}."
    write_table(wide(mean, half, n).round(4), csv_path)
    shown = ci_cells(mean, half, 1)
    if "deepfool rho" in mean.columns:   # ρ is a ratio, not a percentage: three decimals
        shown["deepfool rho"] = ci_cells(mean[["deepfool rho"]], half[["deepfool rho"]], 3)["deepfool rho"]
    write_table(shown, md_path=md_path, caption=caption, html_path=html_path, html_values=mean,
                kinds=same_kind(mean.columns, ACCURACY) if kinds is None else kinds)
    return f"{caption}\n{shown.to_string()}"


def write_grouped(tables: list[pd.DataFrame], group_by: list[str], columns: list[str], seeds: list,
                  caption_head: str, csv_path, md_path, html_path, kinds: dict | None = None) -> str:
    """Per-seed long tables (one row per group and seed; the seeds are the samples) as one table of
    mean ± 95 % t-interval per group: the CSV with ``_ci95`` columns, the Markdown and HTML views
    with "mean ± half" cells. ``kinds``: the kinds of the value ``columns`` and the group columns
    (advreg.figures.cells; a column not named is not coloured); ``seeds`` is a count. Returns the
    caption and the shown table (for the job's log)."""
    table = grouped_ci(pd.concat(tables, ignore_index=True), group_by, columns)
    caption = f"{caption_head}; {spread_text(int(table['seeds'].max()), seeds)}."
    write_table(table.set_index(group_by[0]).round(4), csv_path)
    shown = table[[*group_by, "seeds"]].copy()
    for v in columns:
        shown[v] = [fmt_ci(m, h, 2) for m, h in zip(table[v], table[f"{v}_ci95"])]
    write_table(shown.set_index(group_by[0]), md_path=md_path, caption=caption, html_path=html_path,
                html_values=table.set_index(group_by[0]), kinds={"seeds": COUNT, **(kinds or {})})
    return f"{caption}\n{shown.to_string()}"


def over_seeds_job(tables: dict, metrics_path, caption_head: str, csv_path, md_path, html_path) -> str:
    """The rules that stack one per-seed table over seeds: ``tables`` seed -> CSV (index in the first
    column), the data clause read from one seed's metrics record."""
    frames = {s: pd.read_csv(f, index_col=0) for s, f in tables.items()}   # each table under its seed
    data = json.loads(Path(metrics_path).read_text())["data"]
    return write_over_seeds(frames, caption_head, data, csv_path, md_path, html_path)


def grouped_job(table_paths: list, group_by: list[str], columns: list[str], seeds: list, caption_head: str,
                csv_path, md_path, html_path, kinds: dict | None = None) -> str:
    """The rules that group per-seed long tables (CSV files) into mean ± interval per group."""
    return write_grouped([pd.read_csv(f) for f in table_paths], group_by, columns, seeds, caption_head,
                         csv_path, md_path, html_path, kinds=kinds)
