"""The gradient-masking checks and their table from the diagnostics' records (advreg.jobs.masking):
numpy and pandas only, no torch (a table job starts without it)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from advreg.figures.cells import ACCURACY, COUNT, FLAG, NEUTRAL, same_kind
from advreg.figures.common import accuracy_vs_eps
from advreg.figures.tables import write_table


def flags(measured: dict, strong: dict, transfer_row: dict | None, num_classes: int = 10,
          tol: float = 2.0, gap_tol: float = 5.0) -> dict:
    """The checks of the module docstring from ``measure``'s output, the model's strong-evaluation
    metrics (advreg.jobs.strong) and its row of the transfer matrix (source -> accuracy; the
    diagonal entry is the white-box one)."""
    out = {}
    for col in ("paper_attack", "strong"):
        accs = [s[col] for s in sorted(measured["sweep"], key=lambda s: s["eps_255"])]
        out[f"not_monotone_{col}"] = bool(np.any(np.diff(accs) > tol))
        out[f"no_chance_at_destroy_{col}"] = bool(accs[-1] > 100 / num_classes + tol)
    out["more_steps_help"] = bool(measured["pgd"] - measured["pgd_long"] > tol)
    # what the black-box attacks (Square: advreg.attacks.strong_kinds) broke after the gradient attacks
    square = [s for s in strong["steps"] if s["black_box"]]
    square_pts = 100 * sum(s["broken"] for s in square) / strong["n"]
    out["square_breaks"] = round(square_pts, 2)
    best_transfer = None
    if transfer_row:
        own = transfer_row.pop("__self__")
        best_transfer = min(transfer_row.values()) if transfer_row else None
        out["best_transfer_minus_whitebox"] = round(best_transfer - own, 2) if best_transfer is not None else None
    out["black_box_stronger"] = bool(square_pts > tol or (best_transfer is not None and
                                                         out["best_transfer_minus_whitebox"] < -tol))
    out["strong_gap"] = bool(strong["paper_acc"] - strong["strong_acc"] > gap_tol)
    out["any_flag"] = any(v for k, v in out.items() if isinstance(v, bool))
    return out


def transfer_row(matrix_csv, source: str) -> dict | None:
    """The model's row of a transfer matrix: other sources' accuracies and ``__self__`` (white-box)."""
    import pandas as pd

    if matrix_csv is None:
        return None
    m = pd.read_csv(matrix_csv, index_col=0)
    if source not in m.index or source not in m.columns:
        return None
    row = {c: float(m.loc[source, c]) for c in m.columns if c not in ("test", source)}
    row["__self__"] = float(m.loc[source, source])
    return row


FLAG_COLUMNS = ["not_monotone_paper_attack", "not_monotone_strong", "no_chance_at_destroy_paper_attack",
                "no_chance_at_destroy_strong", "more_steps_help", "black_box_stronger", "strong_gap"]


def _pgd_columns(r: dict) -> tuple[str, str]:
    """The columns of a record's PGD runs: the paper's steps, and the long run with restarts."""
    return f"pgd{r['pgd_steps']}", f"pgd{r['pgd_long_steps']}x{r['restarts']}"


def masking_kinds(records: list[dict]) -> dict[str, str]:
    """The kinds of ``flags_table``'s columns (advreg.figures.cells): accuracies on the accuracy
    scale; the measurements behind a check (square_breaks, best_transfer_minus_whitebox) are not
    coloured, since a healthy value (0 broken, a transfer accuracy far above the white-box one)
    is no better or worse than another: the flags say when one is a problem, and only a raised
    flag is coloured."""
    pgd = [c for r in records for c in _pgd_columns(r)]
    return {**same_kind(["paper_attack", "strong", *pgd], ACCURACY),
            **same_kind(["seed", "strong_eval_images", "diagnostic_images"], COUNT),
            "square_breaks": NEUTRAL, "best_transfer_minus_whitebox": NEUTRAL,
            **same_kind([*FLAG_COLUMNS, "any_flag"], FLAG)}


def flags_table(records: list[dict], methods: list[str], matrices: dict | None = None,
                tol: float = 2.0, gap_tol: float = 5.0):
    """One row per (model, seed): the measurements behind each check and its flag.
    ``matrices``: (seed, ε) -> transfer-matrix CSV of the paper attack, where the run has one."""
    import pandas as pd

    rows = []
    for r in records:
        matrix = (matrices or {}).get((str(r["seed"]), r["eps"]))
        f = flags(r, r["strong"], transfer_row(matrix, r["source"]), tol=tol, gap_tol=gap_tol)
        # two evaluations, each with its own images: the strong evaluation's accuracies, then the
        # diagnostics' own sweeps (issue 29: every column states the images it was measured on)
        short, long = _pgd_columns(r)
        rows.append({"model": r["source"], "seed": r["seed"], "strong_eval_images": r["strong"].get("n"),
                     "paper_attack": round(r["strong"]["paper_acc"], 1), "strong": round(r["strong"]["strong_acc"], 1),
                     "diagnostic_images": r["n"], short: round(r["pgd"], 1), long: round(r["pgd_long"], 1),
                     "square_breaks": f["square_breaks"],
                     "best_transfer_minus_whitebox": f.get("best_transfer_minus_whitebox"),
                     # booleans (True: raised) in the CSV; shown as FLAG / ✓ (advreg.figures.cells)
                     **{c: f[c] for c in FLAG_COLUMNS}, "any_flag": f["any_flag"]})
    df = pd.DataFrame(rows)
    df["order"] = df["model"].map({m: i for i, m in enumerate(methods)})
    return df.sort_values(["order", "seed"]).drop(columns="order").set_index("model")


def write_masking_table(records: list[dict], methods: list[str], matrices: dict, tol: float, gap_tol: float,
                        dataset: str, note: str, csv_path, md_path, html_path, png_path) -> str:
    """The gradient-masking checks of one dataset (Carlini et al. 2019): the flags table and the
    accuracy-vs-ε figure of every model's sweep. ``matrices``: {(attack, ε): transfer-matrix csv},
    keyed "attack|ε" as the rule passes it. Returns the table's text (for the job's log)."""
    table = flags_table(records, methods, {tuple(k.split("|")): v for k, v in matrices.items()},
                        tol=tol, gap_tol=gap_tol)
    n_flagged = int(table["any_flag"].sum())
    caption = (f"{note}Gradient-masking checks on {dataset} (Carlini et al. 2019), "
               f"ε = {records[0]['paper_eps_255']:g}/255. paper_attack and strong: the strong evaluation's "
               f"accuracies (%) on its strong_eval_images test images; every column after diagnostic_images: "
               f"the diagnostics' own sweeps on the first diagnostic_images test images. FLAG = a sign of "
               f"masking or of a too-weak paper attack, ✓ = none; {n_flagged} of {len(table)} (model, seed) "
               f"rows flagged.")
    write_table(table, csv_path, md_path, caption=caption, html_path=html_path, kinds=masking_kinds(records))
    curves: dict[str, list] = {}
    for r in records:   # each sweep point under the seed its record names
        curves.setdefault(r["source"], []).extend({**s, "seed": r["seed"]} for s in r["sweep"])
    accuracy_vs_eps(curves, png_path, records[0]["paper_eps_255"],
                    title=f"{dataset}: accuracy vs ε ({records[0]['n']} test images)", note=note)
    return table.to_string()


def masking_job(row_paths: list, methods: list[str], matrices: dict, tol: float, gap_tol: float, dataset: str,
                note: str, csv_path, md_path, html_path, png_path) -> str:
    """The masking_table rule: ``write_masking_table`` from the diagnostics jobs' records."""
    return write_masking_table([json.loads(Path(f).read_text()) for f in row_paths], methods, matrices, tol,
                               gap_tol, dataset, note, csv_path, md_path, html_path, png_path)
