"""The training_curves rule: every model's training history in one figure."""
from __future__ import annotations

import pandas as pd

from advreg.figures.common import training_curves


def training_curves_job(histories: dict, out_path, dataset: str, note: str = "") -> None:
    """``histories``: label -> a training job's history CSV."""
    training_curves({label: pd.read_csv(f) for label, f in histories.items()}, out_path,
                    title=f"{dataset}: training curves", note=note)
