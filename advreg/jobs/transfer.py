"""White-box / transfer matrices in the paper's layout, and their comparison with the published
matrices (SGR paper App. 7.3): rows = the model attacked, ``test`` = its clean accuracy, other
columns = the model whose adversarial examples are used; diagonal = white-box, off-diagonal =
transfer. Accuracies in %.
"""
from __future__ import annotations

import json
from importlib import resources

import pandas as pd
import torch

from advreg import attacks
from advreg.data import load_dataset, to_float
from advreg.models import load_for_attacks
from advreg.io import pick_device


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


def measure_matrix(dataset_path, models: dict[str, str], sets: dict[str, str],
                   whitebox_json: dict[str, str], batch_size: int, max_test: int | None = None,
                   device: str = "auto") -> pd.DataFrame:
    """Evaluate every model (``models``: label -> model file) on every source's adversarial set."""
    missing = [lab for lab in models if lab not in sets or lab not in whitebox_json]
    if missing:
        raise MatrixError(f"no adversarial set for source model(s) {missing}")
    dev = pick_device(device)
    data = load_dataset(dataset_path, dev, parts=("test",))
    x, y = to_float(data["x_test"]), data["y_test"]
    if max_test:
        x, y = x[:max_test], y[:max_test]
    adv = {}
    for s, path in sets.items():
        blob = torch.load(path, map_location=dev, weights_only=True)
        adv[s] = blob.get("transfer", blob["whitebox"]).float()
        if len(adv[s]) != len(y):
            raise MatrixError(f"adversarial set of {s!r} has {len(adv[s])} examples, the test split {len(y)}")
    whitebox = {s: json.loads(open(p).read())["whitebox_acc"] for s, p in whitebox_json.items()}
    clean, transfer = {}, {}
    for t, path in models.items():
        model, _ = load_for_attacks(path, dev)
        clean[t] = 100 * attacks.accuracy(model, x, y, batch_size)
        for s in models:
            if s != t:
                transfer[(t, s)] = 100 * attacks.accuracy(model, adv[s], y, batch_size)
    return assemble_matrix(list(models), clean, whitebox, transfer)


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


def load_reference(name: str) -> pd.DataFrame:
    """A published matrix shipped in advreg/reference/."""
    path = resources.files("advreg") / "reference" / name
    if not path.is_file():
        raise MatrixError(f"no published matrix {name!r} in advreg/reference/")
    return pd.read_csv(path, index_col=0)
