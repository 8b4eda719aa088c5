"""The prepare_dataset job: one dataset's verified files, split, packed into one artifact."""
from __future__ import annotations

from pathlib import Path

from advreg.base.atomic import save_torch
from advreg.data.artifact import build_dataset


def prepare_dataset(name: str, out_path: str | Path, raw_dir: str | Path, mirror, split: str,
                    test_file_train: int, val: int, offline: bool = False, log=print,
                    stand_in: dict | None = None) -> dict:
    """Build one dataset (advreg.data.artifact.build_dataset) and write its artifact ``out_path``
    atomically: nothing partial is left when any file is missing or corrupt. Returns its meta."""
    arrays, meta = build_dataset(name, raw_dir, mirror, split, test_file_train, val, offline, log, stand_in)
    save_torch(out_path, {**arrays, "meta": meta})
    return meta
