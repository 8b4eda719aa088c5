"""White-box / transfer matrices in the paper's layout, and their comparison with the published
matrices (SGR paper App. 7.3): rows = the model attacked, ``test`` = its clean accuracy, other
columns = the model whose adversarial examples are used; diagonal = white-box, off-diagonal =
transfer. Accuracies in %.
"""
from __future__ import annotations

import json

import pandas as pd
import torch

from advreg.base.device import pick_device
from advreg.data.artifact import load_dataset, to_float
from advreg.figures.cells import ACCURACY, same_kind
from advreg.figures.common import matrix_heatmap
from advreg.figures.tables import write_table
from advreg.jobs.transfer_tables import MatrixError, assemble_matrix
from advreg.nn.models import load_for_attacks
from advreg.nn.predict import accuracy


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
        clean[t] = 100 * accuracy(model, x, y, batch_size)
        for s in models:
            if s != t:
                transfer[(t, s)] = 100 * accuracy(model, adv[s], y, batch_size)
    return assemble_matrix(list(models), clean, whitebox, transfer)


def write_matrix(dataset_path, files: dict[str, dict], batch_size: int, max_test, device: str, title: str,
                 note: str, out: dict) -> str:
    """One white-box / transfer matrix (SGR Tables 3, 4): every model (row) on every source's
    adversarial set (column), measured, then written as csv/md/tex/html and a heat map (``out``).
    ``files``: {row label: {model, set, metrics}}, so nothing is matched by order."""
    df = measure_matrix(dataset_path, {k: v["model"] for k, v in files.items()}, {k: v["set"] for k, v in files.items()},
                        {k: v["metrics"] for k, v in files.items()}, batch_size, max_test, device).round(1)
    data = json.load(open(next(iter(files.values()))["metrics"]))["data"]
    caption = (f"{note}{title}. Rows: model attacked; test: clean accuracy; columns: source of the "
               f"adversarial examples; diagonal: white-box, off-diagonal: transfer. Accuracy in %. Data: {data}.")
    # every column an accuracy (%): clean, white-box or transfer, whatever a model is called
    write_table(df, out["csv"], out["md"], out["tex"], caption=caption, html_path=out["html"],
                kinds=same_kind(df.columns, ACCURACY))
    matrix_heatmap(df, out["png"], title, note=note)
    return df.to_string()
