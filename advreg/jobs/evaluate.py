"""Clean-accuracy evaluation: every trained model re-measured on the test split."""
from __future__ import annotations

import pandas as pd

from advreg.base.device import pick_device
from advreg.data.artifact import evaluated_on, test_split
from advreg.figures.tables import write_table
from advreg.jobs.seed_tables import seed_columns_ci, seed_columns_kinds
from advreg.nn.models import load_model
from advreg.nn.predict import accuracy


def clean_accuracy_table(dataset_path, model_paths: list, methods: list[str], batch_size: int,
                         device: str = "auto", max_test: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Test accuracy (%) of every model in ``model_paths``, re-measured from the saved weights;
    each model file names its own method and seed (its ``info``), so nothing is matched by order.

    Rows: ``methods`` in that order; columns: one per seed, then ``mean``, its 95 % t-interval
    half-width ``ci95`` and the number of ``seeds``. Also returns the
    caption's data clause (split, counts, how many test images were used).
    """
    dev = pick_device(device)
    x, y, meta = test_split(dataset_path, dev, max_test)
    rows, n_train = {}, set()
    for path in model_paths:
        model, blob = load_model(path, dev)
        info = blob["info"]
        n_train.add(info.get("n_train"))
        rows.setdefault(info["method"], {})[f"seed{int(info['settings']['seed'])}"] = 100.0 * accuracy(model, x, y, batch_size)
    df = pd.DataFrame.from_dict(rows, orient="index").reindex([m for m in methods if m in rows])
    df = df[sorted(df.columns, key=lambda c: int(c[4:]))]
    df = seed_columns_ci(df, list(df.columns))
    df.index.name = "method"
    df["images"] = len(x)   # the count every accuracy of this table is on (the summary's card reads it)
    return df.round(2), evaluated_on(meta, len(x), n_train.pop() if len(n_train) == 1 else None)


def clean_accuracy_job(dataset_path, model_paths: list, methods: list[str], batch_size: int, dataset: str,
                       csv_out, md_out, html_out, device: str = "auto", max_test: int | None = None) -> pd.DataFrame:
    """The clean_accuracy rule: ``clean_accuracy_table`` written as CSV, Markdown and the report's
    HTML, captioned with the data it was measured on."""
    df, data = clean_accuracy_table(dataset_path, model_paths, methods, batch_size, device, max_test=max_test)
    write_table(df, csv_out, md_out, caption=f"Clean test accuracy (%) on {dataset} ({data}).",
                html_path=html_out, kinds=seed_columns_kinds(df))
    return df
