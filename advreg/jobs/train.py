"""The train job: one (dataset, method, seed) model from the settings its rule resolved. It owns
every file of a training run: the checkpoint kept after each epoch (resumed only when it matches,
set aside, never deleted, when it does not), the history CSV and the model file, each written
atomically (advreg.base.atomic); the loop (advreg.training.loop) writes nothing."""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import torch

from advreg.base.atomic import atomic_path, save_torch
from advreg.nn.models import save_model
from advreg.training.loop import HISTORY_FIELDS, train
from advreg.training.settings import TrainSettings


def _aside(path: Path, tag: str) -> Path:
    """Move ``path`` to a new name beside it (never over an earlier one); returns the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dest = path.with_name(f"{path.name}.{tag}-{stamp}")
    k = 1
    while dest.exists():
        dest, k = path.with_name(f"{path.name}.{tag}-{stamp}-{k}"), k + 1
    os.replace(path, dest)
    return dest


def load_checkpoint(path: Path, parts: dict[str, str], log=print) -> dict | None:
    """The checkpoint at ``path`` if it can be resumed, else None. One that cannot be read
    (truncated, corrupt) or that belongs to other settings, data or code is moved aside (kept, not
    deleted) with a line saying why; a leftover ``.part`` of a save that was killed is removed."""
    part = path.with_name(path.name + ".part")
    if part.exists():
        part.unlink()
        log(f"removed {part}: an incomplete save (the job was killed while saving)")
    if not path.exists():
        return None
    try:
        # on the CPU: loading never needs device memory, so only an unreadable file fails here
        ck = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(ck, dict) or "epoch" not in ck:
            raise ValueError("not a training checkpoint")
    except Exception as e:  # noqa: BLE001 - any unreadable file is set aside, whatever the cause
        dest = _aside(path, "corrupt")
        log(f"WARNING: checkpoint {path} cannot be loaded ({type(e).__name__}: {e}); moved to "
            f"{dest}; training starts from scratch")
        return None
    old = ck.get("signature_parts")
    if old == parts:
        return ck
    if old is None:
        why = "it was written before checkpoints recorded their data and code"
    else:
        differing = [k for k in parts if old.get(k) != parts[k]]
        why = "it was written with different " + " and ".join(differing)
    dest = _aside(path, "stale")
    log(f"checkpoint {path} cannot be resumed: {why}; moved to {dest}; training starts from scratch")
    return None


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic: a kill leaves either the previous checkpoint or the new one, never half a file."""
    save_torch(path, state)


class CheckpointFile:
    """The checkpoint of one training run at ``path`` (what advreg.training.loop.train keeps its
    state in between epochs)."""

    def __init__(self, path):
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def load(self, parts: dict[str, str], log=print) -> dict | None:
        return load_checkpoint(self.path, parts, log)

    def save(self, state: dict) -> None:
        save_checkpoint(self.path, state)

    def set_aside(self, tag: str) -> Path:
        return _aside(self.path, tag)


def write_history(path: Path, history: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
        w.writeheader()
        w.writerows(history)


def train_job(dataset_path, model_spec: dict, method: str, method_cfg: dict, settings: TrainSettings | dict,
              model_out, history_out, checkpoint, device: str = "auto", log=print,
              stop_after_epoch: int | None = None) -> list[dict]:
    """Train (resuming from ``checkpoint`` when it matches) and write the history and the model;
    the checkpoint is removed once the model file holds the finished state. Returns the history."""
    if isinstance(settings, dict):
        settings = TrainSettings(**settings)
    checkpoints = CheckpointFile(checkpoint)
    run = train(dataset_path, model_spec, method, method_cfg, settings, checkpoints, device=device, log=log,
                stop_after_epoch=stop_after_epoch)
    if not run.finished:
        return run.history
    write_history(Path(history_out), run.history)
    save_model(model_out, run.model, model_spec, run.info)
    checkpoints.path.unlink(missing_ok=True)
    if run.history:
        log(f"{method}: saved {model_out} (epoch {run.history[-1]['epoch']}, validation accuracy "
            f"{100 * run.history[-1]['val_acc']:.2f} %)")
    return run.history
