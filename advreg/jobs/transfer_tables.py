"""The transfer-matrix and white-box tables (SGR Tables 1, 3, 4) from measured accuracies, and the
published matrices: pandas only, no torch (a table job starts without it)."""
from __future__ import annotations

from importlib import resources

import pandas as pd

from advreg.figures.tables import write_table
from advreg.jobs.seeds import write_over_seeds


class MatrixError(ValueError):
    pass


def assemble_matrix(labels: list[str], clean: dict[str, float], whitebox: dict[str, float],
                    transfer: dict[tuple[str, str], float]) -> pd.DataFrame:
    """Lay out measured accuracies; ``transfer[(target, source)]`` for target ≠ source."""
    for lab in labels:
        if lab not in whitebox:
            raise MatrixError(f"no adversarial set of source model {lab!r}: cannot fill its column "
                              f"(have {sorted(whitebox)})")
        if lab not in clean:
            raise MatrixError(f"no clean accuracy for model {lab!r}")
    cells = {}
    for t in labels:
        row = {"test": clean[t]}
        for s in labels:
            if s == t:
                row[s] = whitebox[t]
            elif (t, s) in transfer:
                row[s] = transfer[(t, s)]
            else:
                raise MatrixError(f"missing transfer accuracy of model {t!r} on {s!r}'s examples")
        cells[t] = row
    df = pd.DataFrame.from_dict(cells, orient="index")[["test", *labels]]
    df.index.name = "target_model"
    return df


def whitebox_table(metrics: list[dict], methods: list[str]) -> pd.DataFrame:
    """Per model: clean accuracy, white-box accuracy under every attack and ε, DeepFool ρ
    (the white-box part of the paper's Table 1)."""
    rows: dict[str, dict] = {m: {} for m in methods}
    for m in metrics:
        row = rows[m["source"]]
        row["test"] = m["clean_acc"]
        if "deepfool_rho" in m:
            row[f"{m['attack']} rho"] = m["deepfool_rho"]
        else:
            row[f"{m['attack']} eps={m['eps_255']}"] = m["whitebox_acc"]
    df = pd.DataFrame.from_dict(rows, orient="index")
    df = df[["test", *[c for c in df.columns if c != "test"]]]
    df.index.name = "model"
    return df


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
    for seed, files in sorted((int(s), f) for s, f in seed_files.items()):
        df = whitebox_table(by_seed[seed], methods).round(3)
        caption = (f"White-box accuracy (%) of every model on {dataset} (seed {seed}); ε in units of "
                   f"1/255; DeepFool: robustness ρ. Data: {by_seed[seed][0]['data']}.")
        write_table(df, files["csv"], files["md"], files["tex"], caption=caption, html_path=files["html"])
        frames[seed] = df
        lines.append(f"seed {seed}\n{df.to_string()}")
    head = (f"{note}White-box accuracy (%) of every model under each attack (ε in units of 1/255; "
            f"DeepFool: robustness ρ), {dataset}")
    lines.append(write_over_seeds(frames, head, by_seed[min(frames)][0]["data"], out["csv"], out["md"],
                                  out["html"]))
    return "\n".join(lines)


def load_reference(name: str) -> pd.DataFrame:
    """A published matrix shipped in advreg/reference/."""
    path = resources.files("advreg") / "reference" / name
    if not path.is_file():
        raise MatrixError(f"no published matrix {name!r} in advreg/reference/")
    return pd.read_csv(path, index_col=0)
