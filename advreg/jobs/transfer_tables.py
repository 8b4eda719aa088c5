"""The transfer-matrix and white-box tables (SGR Tables 1, 3, 4) from measured accuracies, and the
published matrices: pandas only, no torch (a table job starts without it)."""
from __future__ import annotations

import pandas as pd

from advreg.claims import published
from advreg.figures.cells import ACCURACY, NEUTRAL


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


def _whitebox_cell(m: dict) -> tuple[str, float, str]:
    """A white-box record's column, value and kind: an accuracy (%) under an attack at its ε, or
    DeepFool's robustness ρ (a ratio: not coloured, advreg.figures.cells)."""
    if "deepfool_rho" in m:
        return f"{m['attack']} rho", m["deepfool_rho"], NEUTRAL
    return f"{m['attack']} eps={m['eps_255']}", m["whitebox_acc"], ACCURACY


def whitebox_kinds(metrics: list[dict]) -> dict[str, str]:
    """The kind of every column of ``whitebox_table(metrics, ...)``."""
    return {"test": ACCURACY, **{col: kind for col, _, kind in map(_whitebox_cell, metrics)}}


def whitebox_table(metrics: list[dict], methods: list[str]) -> pd.DataFrame:
    """Per model: clean accuracy, white-box accuracy under every attack and ε, DeepFool ρ
    (the white-box part of the paper's Table 1)."""
    rows: dict[str, dict] = {m: {} for m in methods}
    for m in metrics:
        row = rows[m["source"]]
        row["test"] = m["clean_acc"]
        col, value, _ = _whitebox_cell(m)
        row[col] = value
    df = pd.DataFrame.from_dict(rows, orient="index")
    df = df[["test", *[c for c in df.columns if c != "test"]]]
    df.index.name = "model"
    return df


def load_reference(name: str) -> pd.DataFrame:
    """A published matrix shipped in advreg/reference/ (advreg.claims.published.published_matrix),
    a missing one a MatrixError."""
    try:
        return published.published_matrix(name)
    except published.MissingReference as e:
        raise MatrixError(str(e)) from None
