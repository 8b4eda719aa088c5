"""Progress in rule logs (advreg.base.progress): the device line and its GPU warning, rate/ETA lines."""
from __future__ import annotations

import torch

from advreg.base import progress as P


def test_device_line_warns_only_when_the_run_asked_for_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    # a local CPU run of `device: auto` (the quick preset): the rule's gpu=1 is no request, no warning
    lines = P.describe_device("auto", gpu_resource=1, env={})
    assert len(lines) == 1 and lines[0].startswith("device: requested auto, no CUDA device")
    # a scheduler gave the job a GPU that torch cannot see: warn, naming why a GPU was expected
    (_, warn) = P.describe_device("auto", gpu_resource=1, env={"SLURM_JOB_GPUS": "0"})
    assert warn.startswith("WARNING: this job expected a GPU (resources: gpu=1, SLURM_JOB_GPUS=0)")
    assert "WARNING" in P.describe_device("cuda:0", env={})[1]        # device: cuda asked for one
    assert P.describe_device("auto", env={"SLURM_JOB_GPUS": "0"}) == lines  # no gpu resource: no warning
    assert P.describe_device("cpu", gpu_resource=0, env={}) == [lines[0].replace("auto", "cpu")]


def test_progress_reports_rate_and_eta(monkeypatch):
    clock = iter([0.0, 10.0, 20.0, 40.0, 41.0])
    monkeypatch.setattr(P.time, "perf_counter", lambda: next(clock))
    out = []
    bar = P.Progress(out.append, "train epoch 1/2", total=100, every=30)
    bar.update(10)             # t = 10: too soon, nothing
    bar.update(20)             # t = 20: too soon
    bar.update(80)             # t = 40: 80 steps in 40 s → 2 steps/s, 20 left → ETA 10 s
    bar.update(100, force=True)
    assert out[0] == "train epoch 1/2: 80/100 steps (2 steps/s, elapsed 0:00:40, ETA 0:00:10)"
    assert out[1].startswith("train epoch 1/2: 100/100 steps") and "ETA 0:00:00" in out[1]
    assert len(out) == 2


def test_format_record_is_one_readable_line():
    line = P.format_record({"source": "gn", "whitebox_acc": 81.33333, "n": 500, "robust": [1, 2]})
    assert line == "source gn, whitebox_acc 81.33, n 500"
