"""One way to time code on a device, used by the cost model's calibration and the benchmarks."""
from __future__ import annotations

import statistics
import time

import torch


def sync(device) -> None:
    """Wait for the device's queued work: CUDA runs asynchronously, so a timer must."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(fn, device="cpu", calls: int = 1, rounds: int = 1, warmup: int = 0) -> float:
    """Seconds per call of ``fn`` on ``device``: ``warmup`` untimed calls (allocations, oneDNN
    primitive creation, cuDNN autotune), then ``rounds`` rounds of ``calls`` consecutive calls, the
    device synchronized around each round; the median over rounds of a round's mean."""
    for _ in range(warmup):
        fn()
    per_call = []
    for _ in range(rounds):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        sync(device)
        per_call.append((time.perf_counter() - t0) / calls)
    return statistics.median(per_call)
