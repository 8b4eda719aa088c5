"""Where a job's tensors live and what it reads: the device choice and the test split, in one place
for every job module (so a job imports neither the training loop nor the table writers for them)."""
from __future__ import annotations

import torch

from advreg.data import load_dataset


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def head(data: dict, part: str, n: int | None = None):
    """The first ``n`` images (uint8) and labels of split ``part`` of a loaded dataset artifact
    (all of them when ``n`` is None or 0): every job evaluates on the first images of a split."""
    x, y = data[f"x_{part}"], data[f"y_{part}"]
    return (x[:n], y[:n]) if n else (x, y)


def test_split(dataset_path, device, max_test: int | None = None):
    """The first ``max_test`` test images (uint8) and labels of a dataset artifact, and its meta."""
    data = load_dataset(dataset_path, device, parts=("test",))
    return (*head(data, "test", max_test), data["meta"])
