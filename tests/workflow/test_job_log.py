"""A job told to stop (SIGTERM from Snakemake's cancel, SLURM's time limit, Ctrl-C) ends its rule
log with a line saying so, and exits non-zero (scripts/_log.py)."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

from workflow_utils import REPO

JOB = """
import sys, time, types
sys.path.insert(0, {scripts!r})
from _log import logged
snakemake = types.SimpleNamespace(log=[{log!r}], rule="demo", wildcards={{"seed": "0"}},
                                  params=types.SimpleNamespace(), resources=types.SimpleNamespace())
with logged(snakemake) as log:
    log("started")
    time.sleep(60)
"""


def _start(log, prefix: str = "", sleep: float = 60) -> subprocess.Popen:
    """The demo job (``prefix`` runs first), once it has logged its first line."""
    job = prefix + JOB.format(scripts=str(REPO / "scripts"), log=str(log)).replace(
        "time.sleep(60)", f"time.sleep({sleep})")
    proc = subprocess.Popen([sys.executable, "-c", job])
    deadline = time.monotonic() + 30
    while "started" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline and proc.poll() is None, "the job did not start"
        time.sleep(0.05)
    return proc


def test_terminated_job_says_so_in_its_log(tmp_path):
    log = tmp_path / "job.log"
    proc = _start(log)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    lines = log.read_text().splitlines()
    assert re.search(rf"rule demo \(seed=0\), pid {proc.pid} \(started in [0-9.]+ s\)$", lines[0])  # the log opens with the job
    assert lines[1].endswith("] started")  # timestamped
    assert lines[-1].startswith("KILLED at ") and "received SIGTERM" in lines[-1]


def test_an_ignored_sighup_stays_ignored(tmp_path):
    """Under `nohup snakemake …` SIGHUP is ignored: closing the terminal must not kill the jobs."""
    log = tmp_path / "job.log"
    proc = _start(log, prefix="import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)\n", sleep=1.5)
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=30) == 0
    assert "KILLED" not in log.read_text()
