"""Writing a file atomically, the one way every artifact of the pipeline is written: to a ``.part``
name beside the final one, then ``os.replace`` onto it in one step. A reader (another job, a
resumed run) never sees half a file, and a job killed mid-write leaves no file under the real name
for Snakemake or a resume to trust."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary path to write; on leaving the block it replaces ``path`` (whose folder is
    created); on an error it is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=1))


def save_torch(path, obj) -> None:
    import torch  # only the writers of tensors pay the import

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
