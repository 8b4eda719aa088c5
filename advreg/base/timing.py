"""One way to time code on a device, used by the cost model's calibration and the benchmarks, and
one way to count the host reads (GPU syncs on CUDA) of code, used by a test and the GPU benchmark."""
from __future__ import annotations

import contextlib
import inspect
import statistics
import time
from pathlib import Path

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


# Reading a tensor's value on the host: on CUDA each of these waits for the GPU.
HOST_READS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__")


@contextlib.contextmanager
def host_reads(package: str = "advreg"):
    """Inside the block, every tensor-to-host read called from ``package``'s own code is recorded
    as (what, function, line) in the yielded list; torch's own reads (e.g. Adam's CPU step counter)
    are no device syncs on CUDA and are not counted. Counted on any device, the CPU included."""
    calls: list[tuple[str, str, int]] = []
    original = {n: getattr(torch.Tensor, n) for n in HOST_READS}

    def counting(name):
        fn = original[name]

        def wrapper(self, *a, **k):
            caller = inspect.currentframe().f_back
            if package in Path(caller.f_code.co_filename).parts:
                calls.append((name, caller.f_code.co_name, caller.f_lineno))
            return fn(self, *a, **k)
        return wrapper

    try:
        for n in HOST_READS:
            setattr(torch.Tensor, n, counting(n))
        yield calls
    finally:
        for n, fn in original.items():
            setattr(torch.Tensor, n, fn)
