"""Warm start (scripts/_warm.py): a job forked from the server behaves as the same job started cold
— its output, exit status, log, cancellation and orphan handling — and anything unusual runs it
cold. The server here preloads only `json`, so these tests take seconds."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workflow_utils import REPO

JOB = """
import sys, time, types
from _log import logged
print("stdout of the job", flush=True)
snakemake = types.SimpleNamespace(log=[{log!r}], rule="demo", wildcards={{"seed": "0"}},
                                  params=types.SimpleNamespace(), resources=types.SimpleNamespace())
with logged(snakemake) as log:
    log("started")
    time.sleep({sleep})
sys.exit({code})
"""


@pytest.fixture
def scripts(tmp_path):
    """A copy of the two helper scripts (a test may touch them)."""
    d = tmp_path / "scripts"
    d.mkdir()
    for f in ("_warm.py", "_log.py"):
        shutil.copy(REPO / "scripts" / f, d / f)
    return d


def _serve(scripts: Path, sock: Path, owner: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(scripts / "_warm.py"), "serve", str(sock), str(owner), "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not sock.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    return proc


@pytest.fixture
def server(scripts, tmp_path):
    sock = tmp_path / "w.sock"
    proc = _serve(scripts, sock, os.getpid())
    yield sock, proc
    proc.terminate()
    proc.wait(timeout=10)


def _job(tmp_path, scripts, sock, sleep=0.0, code=0, wait=True):
    log = tmp_path / "job.log"
    job = tmp_path / "job.py"
    job.write_text(JOB.format(log=str(log), sleep=sleep, code=code))
    env = {**os.environ, "PYTHONPATH": str(scripts), "ADVREG_WARM_SOCKET": str(sock)}
    env.pop("ADVREG_WARM_CLIENT", None)
    proc = subprocess.Popen([sys.executable, str(job)], env=env, stdout=subprocess.PIPE, text=True)
    if wait:
        out, _ = proc.communicate(timeout=60)
        return proc, out, log.read_text()
    deadline = time.monotonic() + 30
    while "started" not in (log.read_text() if log.exists() else ""):
        assert proc.poll() is None and time.monotonic() < deadline, "the job did not start"
        time.sleep(0.02)
    return proc, None, log


def test_a_warm_job_keeps_its_output_status_and_log(server, scripts, tmp_path):
    sock, _ = server
    proc, out, log = _job(tmp_path, scripts, sock, code=3)
    assert proc.returncode == 3
    assert "stdout of the job" in out  # the child wrote to the client's own stdout
    first = log.splitlines()[0]
    assert f"(warm start for pid {proc.pid}, started in " in first, first
    assert log.splitlines()[1].endswith("] started")


def test_terminating_the_job_process_stops_the_warm_job(server, scripts, tmp_path):
    sock, _ = server
    proc, _, log = _job(tmp_path, scripts, sock, sleep=60, wait=False)
    proc.send_signal(signal.SIGTERM)  # what Snakemake's cancel does to the job it started
    assert proc.wait(timeout=30) == 143
    last = log.read_text().splitlines()[-1]
    assert last.startswith("KILLED at ") and "received SIGTERM" in last


def test_a_warm_job_whose_process_is_killed_stops_itself(server, scripts, tmp_path):
    sock, _ = server
    proc, _, log = _job(tmp_path, scripts, sock, sleep=60, wait=False)
    proc.kill()  # SIGKILL: nothing relays it; the child notices that its client is gone
    proc.wait(timeout=10)
    deadline = time.monotonic() + 20
    while "KILLED" not in log.read_text():
        assert time.monotonic() < deadline, "the orphaned warm job did not stop"
        time.sleep(0.1)
    assert f"its job process (pid {proc.pid}) is gone" in log.read_text()


def test_a_request_from_outside_the_owner_runs_cold(scripts, tmp_path):
    """A job not started by the Snakemake that owns the server (e.g. a SLURM job on the same host)."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    sock = tmp_path / "w.sock"
    srv = _serve(scripts, sock, other.pid)
    try:
        proc, _, log = _job(tmp_path, scripts, sock, code=0)
        assert proc.returncode == 0 and "(cold start" in log.splitlines()[0]
    finally:
        srv.terminate()
        other.kill()
        srv.wait(timeout=10)
        other.wait(timeout=10)


def test_changed_code_runs_cold(server, scripts, tmp_path):
    sock, _ = server
    later = time.time() + 5
    os.utime(scripts / "_warm.py", (later, later))  # edited after the server imported it
    proc, _, log = _job(tmp_path, scripts, sock)
    assert proc.returncode == 0 and "(cold start" in log.splitlines()[0]


def test_no_server_runs_cold(scripts, tmp_path):
    proc, _, log = _job(tmp_path, scripts, tmp_path / "absent.sock", code=0)
    assert proc.returncode == 0 and "(cold start" in log.splitlines()[0]


def test_the_server_stops_with_its_owner(scripts, tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    sock = tmp_path / "w.sock"
    srv = _serve(scripts, sock, owner.pid)
    owner.kill()
    owner.wait(timeout=10)
    assert srv.wait(timeout=10) == 0 and not sock.exists()


def test_a_warm_job_stops_when_snakemake_is_killed(server, scripts, tmp_path):
    """SIGKILL of the process that started the job (Snakemake): nothing can relay it; the client
    notices its parent is gone and ends, then the job notices its client is gone and stops."""
    sock, _ = server
    log = tmp_path / "job.log"
    job = tmp_path / "job.py"
    job.write_text(JOB.format(log=str(log), sleep=60, code=0))
    env = {**os.environ, "PYTHONPATH": str(scripts), "ADVREG_WARM_SOCKET": str(sock)}
    env.pop("ADVREG_WARM_CLIENT", None)
    parent = subprocess.Popen(["sh", "-c", f"{sys.executable} {job}; true"], env=env)  # sh forks the client
    deadline = time.monotonic() + 30
    while "started" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the job did not start"
        time.sleep(0.05)
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 20
    while "KILLED" not in log.read_text():
        assert time.monotonic() < deadline, "the warm job outlived Snakemake"
        time.sleep(0.1)
    assert "is gone; this orphaned job stops" in log.read_text()
