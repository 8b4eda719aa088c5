"""Clean-accuracy evaluation and table writing (CSV, Markdown, LaTeX with one code path)."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import torch

from advreg.data import evaluated_on, load_dataset
from advreg.models import load_model
from advreg.seed_tables import seed_columns_ci
from advreg.train import accuracy, pick_device


def test_split(dataset_path, device, max_test: int | None = None):
    data = load_dataset(dataset_path, device, parts=("test",))
    x, y = data["x_test"], data["y_test"]
    if max_test:
        x, y = x[:max_test], y[:max_test]
    return x, y, data["meta"]


def clean_accuracy_table(dataset_path, models: dict[tuple[str, int], str], batch_size: int,
                         device: str = "auto", max_test: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Test accuracy (%) of every (method, seed) model, re-measured from the saved weights.

    Rows: methods in the given order; columns: one per seed, then ``mean``, its 95 % t-interval
    half-width ``ci95`` and the number of ``seeds``. Also returns the
    caption's data clause (split, counts, how many test images were used).
    """
    dev = pick_device(device)
    x, y, meta = test_split(dataset_path, dev, max_test)
    rows, n_train = {}, set()
    for (method, seed), path in models.items():
        model, blob = load_model(path, dev)
        n_train.add(blob["info"].get("n_train"))
        rows.setdefault(method, {})[f"seed{seed}"] = 100.0 * accuracy(model, x, y, batch_size)
    df = pd.DataFrame.from_dict(rows, orient="index")
    df = seed_columns_ci(df, list(df.columns))
    df.index.name = "method"
    return df.round(2), evaluated_on(meta, len(x), n_train.pop() if len(n_train) == 1 else None)


def write_table(df: pd.DataFrame, csv_path=None, md_path=None, tex_path=None, caption: str = "",
                html_path=None, html_values: pd.DataFrame | None = None) -> None:
    """Write one table in every format asked for (atomically, file by file); ``html_path``: the
    page the report shows inline (advreg.table_html; ``html_values``: the numbers that colour
    cells shown as text)."""
    def atomic(path, text):
        tmp = f"{path}.part"
        Path(tmp).write_text(text)
        os.replace(tmp, path)

    for path in (csv_path, md_path, tex_path, html_path):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    if html_path:
        from advreg.table_html import table_html
        atomic(html_path, table_html(df, caption, values=html_values))
    if csv_path:
        atomic(csv_path, df.to_csv())
    if md_path:
        atomic(md_path, (f"{caption}\n\n" if caption else "") + df.to_markdown() + "\n")
    if tex_path:
        atomic(tex_path, df.to_latex(float_format="%.1f", caption=caption or None))
