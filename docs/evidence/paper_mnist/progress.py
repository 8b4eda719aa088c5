"""How far the paper_mnist run (issue 39) has come, read from its stored state: per model and seed,
the epochs trained, the training time they took (the sum of the epochs' own timings, over every
session) and the last validation accuracy. Prints a Markdown table.

    .venv/bin/python docs/evidence/paper_mnist/progress.py            # the state stored here
    .venv/bin/python docs/evidence/paper_mnist/progress.py RUN/results/paper_mnist   # a run's own
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import torch
import yaml

HERE = Path(__file__).resolve().parent
PRESET = HERE.parents[2] / "presets" / "paper_mnist.yaml"


def _rows(root: Path, methods: list[str], seeds: list[int], epochs: int) -> list[dict]:
    rows = []
    for m in methods:
        for s in seeds:
            model = root / "models" / "mnist" / m / f"seed{s}" / "history.csv"
            ck = root / "checkpoints" / "mnist" / m / f"seed{s}.pt"
            if model.exists():
                hist, state = pd.read_csv(model).to_dict("records"), "finished"
            elif ck.exists():
                hist, state = torch.load(ck, map_location="cpu", weights_only=False)["history"], "in progress"
            else:
                hist, state = [], "not started"
            seconds = sum(r["seconds"] for r in hist)
            rows.append({"model": m, "seed": s, "state": state, "epochs": f"{len(hist)}/{epochs}",
                         "training time (h)": round(seconds / 3600, 2),
                         "s / epoch": round(seconds / len(hist)) if hist else None,
                         "val. acc. (%)": round(100 * hist[-1]["val_acc"], 2) if hist else None,
                         "_done": len(hist)})
    return rows


def main(root: Path = HERE) -> str:
    preset = yaml.safe_load(PRESET.read_text())
    epochs = preset["dataset_settings"]["mnist"]["epochs"]
    rows = _rows(root, preset["methods"], preset["seeds"], epochs)
    table = pd.DataFrame(rows)
    done = int(table["_done"].sum())
    total = epochs * len(rows)
    shown = table.drop(columns="_done").astype(object)
    text = shown.where(shown.notna(), "—").to_markdown(index=False, floatfmt="g")
    return (f"{text}\n\n{done} of {total} model-epochs trained ({100 * done / total:.0f} %), "
            f"{(table['state'] == 'finished').sum()} of {len(rows)} models finished, "
            f"{table['training time (h)'].sum():.2f} h of training (job time, one thread a job).")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
