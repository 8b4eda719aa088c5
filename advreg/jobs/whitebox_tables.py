"""The white-box tables of one dataset (SGR Table 1), written by one job: each seed's table and
their combination over seeds. A module of its own, so the transfer-matrix job, which shares
``transfer_tables`` with it, does not re-run when the seed-combining code changes (a rule's `code`
inputs are its script's import closure, advreg.base.provenance)."""
from __future__ import annotations

import json
from pathlib import Path

from advreg.figures.tables import write_table
from advreg.jobs.seed_tables import write_over_seeds
from advreg.jobs.transfer_tables import MatrixError, whitebox_kinds, whitebox_table


def write_whitebox_tables(metrics: list[dict], methods: list[str], seed_files: dict[int, dict],
                          out: dict, note: str, dataset: str) -> str:
    """The white-box tables of one dataset in one job: per seed (``seed_files``: seed -> {csv, md,
    tex, html}) the paper's Table-1 layout, and their combination over seeds (``out``: csv, md,
    html). Each record is filed under the seed it names; a seed without records, or a record of a
    seed not asked for, is an error rather than a silently smaller table."""
    by_seed: dict[int, list[dict]] = {int(s): [] for s in seed_files}
    for m in metrics:
        if "seed" not in m or int(m["seed"]) not in by_seed:
            raise MatrixError(f"adversarial-set record of {m.get('source')!r} ({m.get('attack')}, "
                              f"ε={m.get('eps_255')}) has seed {m.get('seed')!r}; expected one of "
                              f"{sorted(by_seed)}")
        by_seed[int(m["seed"])].append(m)
    empty = [s for s, recs in by_seed.items() if not recs]
    if empty:   # checked before anything is written: no half-updated set of tables
        raise MatrixError(f"no adversarial-set record of seed {empty[0]} for the {dataset} white-box table")
    frames, lines = {}, []
    kinds = whitebox_kinds(metrics)
    for seed, files in sorted((int(s), f) for s, f in seed_files.items()):
        df = whitebox_table(by_seed[seed], methods).round(3)
        caption = (f"White-box accuracy (%) of every model on {dataset} (seed {seed}); ε in units of "
                   f"1/255; DeepFool: robustness ρ. Data: {by_seed[seed][0]['data']}.")
        write_table(df, files["csv"], files["md"], files["tex"], caption=caption, html_path=files["html"],
                    kinds=kinds)
        frames[seed] = df
        lines.append(f"seed {seed}\n{df.to_string()}")
    head = (f"{note}White-box accuracy (%) of every model under each attack (ε in units of 1/255; "
            f"DeepFool: robustness ρ), {dataset}")
    lines.append(write_over_seeds(frames, head, by_seed[min(frames)][0]["data"], out["csv"], out["md"],
                                  out["html"], kinds=kinds))
    return "\n".join(lines)


def whitebox_job(metric_paths: list, methods: list[str], seed_files: dict, out: dict, note: str, dataset: str) -> str:
    """The whitebox_table rule: ``write_whitebox_tables`` from the adversarial sets' metric records."""
    return write_whitebox_tables([json.loads(Path(f).read_text()) for f in metric_paths], methods, seed_files,
                                 out, note, dataset)
