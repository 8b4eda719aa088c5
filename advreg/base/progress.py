"""Progress a user can watch in a rule log: the device first, then timestamped lines with rate and
ETA at least every ``every`` seconds (and at the end of each unit of work)."""
from __future__ import annotations

import os
import time

import torch

EVERY_SECONDS = 30.0


def hms(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


#: Set by a scheduler that gave the job a GPU (SLURM's --gpus/--gres) or by a user who chose one.
GPU_GIVEN_ENV = ("SLURM_JOB_GPUS", "SLURM_GPUS_ON_NODE", "SLURM_STEP_GPUS", "CUDA_VISIBLE_DEVICES")


def describe_device(requested: str | None, gpu_resource: int = 0, env=None) -> list[str]:
    """The device line a job logs first, and a loud warning when the run asked for a GPU but torch
    sees none (it then runs on the CPU): ``device: cuda``, or a job holding ``resources: gpu``
    that a scheduler (or the user, through ``GPU_GIVEN_ENV``) gave a GPU. A ``device: auto`` job
    of a local run on a machine without one (the CPU presets) only says where it runs: its ``gpu``
    resource is the rule's default, not a request."""
    env = os.environ if env is None else env
    cuda = torch.cuda.is_available()
    if cuda:
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        seen = f"CUDA available ({names})"
    else:
        seen = "no CUDA device: the CPU"
    lines = [f"device: requested {requested or 'n/a'}, {seen}; torch {torch.__version__}"]
    given = [k for k in GPU_GIVEN_ENV if env.get(k)]
    wants_gpu = (requested or "").startswith("cuda") or (gpu_resource > 0 and bool(given))
    if wants_gpu and not cuda:
        why = (f"device {requested}" if (requested or "").startswith("cuda")
               else f"resources: gpu={gpu_resource}, {given[0]}={env[given[0]]}")
        lines.append(f"WARNING: this job expected a GPU ({why}) but torch sees no CUDA device: it runs on the CPU, "
                     "which can be 10-100x slower. Check CUDA_VISIBLE_DEVICES, the driver and the torch build.")
    return lines


def format_record(record: dict) -> str:
    """A metrics dict as one readable line: `key value, key value` (floats to 4 significant digits)."""
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    return ", ".join(f"{k} {fmt(v)}" for k, v in record.items() if not isinstance(v, (dict, list)))


class Progress:
    """Reports ``done`` of ``total`` units of one task, with rate and ETA, at most every ``every``
    seconds (``update``), and always when asked (``update(..., force=True)``)."""

    def __init__(self, log, what: str, total: int, unit: str = "step", every: float = EVERY_SECONDS):
        self.log, self.what, self.total, self.unit, self.every = log, what, total, unit, every
        self.t0 = self.last = time.perf_counter()

    def update(self, done: int, note="", force: bool = False) -> None:
        """``note``: text, or a function giving it, called only when a line is logged (so a
        caller's device statistics are read once per interval, not once per step)."""
        now = time.perf_counter()
        if not force and now - self.last < self.every:
            return
        if callable(note):
            note = note()
        self.last = now
        elapsed = now - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        eta_s = hms(eta) if eta == eta else "?"
        self.log(f"{self.what}: {done}/{self.total} {self.unit}s ({rate:.3g} {self.unit}s/s, "
                 f"elapsed {hms(elapsed)}, ETA {eta_s})" + (f"; {note}" if note else ""))
