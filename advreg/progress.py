"""Progress a user can watch in a rule log: the device first, then timestamped lines with rate and
ETA at least every ``every`` seconds (and at the end of each unit of work)."""
from __future__ import annotations

import time

import torch

EVERY_SECONDS = 30.0


def hms(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def describe_device(requested: str | None, gpu_resource: int = 0) -> list[str]:
    """The device line a job logs first, and a loud warning when the job was given a GPU
    (``resources: gpu``) or asked for CUDA but torch sees none (it then runs on the CPU)."""
    cuda = torch.cuda.is_available()
    if cuda:
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        seen = f"CUDA available ({names})"
    else:
        seen = "no CUDA device: the CPU"
    lines = [f"device: requested {requested or 'n/a'}, {seen}; torch {torch.__version__}"]
    wants_gpu = gpu_resource > 0 or (requested or "").startswith("cuda")
    if wants_gpu and not cuda:
        lines.append("WARNING: this job expected a GPU (" + (f"resources: gpu={gpu_resource}" if gpu_resource
                     else f"device {requested}") + ") but torch sees no CUDA device: it runs on the CPU, "
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

    def update(self, done: int, note: str = "", force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        eta_s = hms(eta) if eta == eta else "?"
        self.log(f"{self.what}: {done}/{self.total} {self.unit}s ({rate:.3g} {self.unit}s/s, "
                 f"elapsed {hms(elapsed)}, ETA {eta_s})" + (f"; {note}" if note else ""))
