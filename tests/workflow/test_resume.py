"""Snakemake killed mid-training (SIGKILL: it cannot cancel its jobs): the orphaned training job
notices, logs that it was killed and stops, keeping its checkpoint; the recovery commands of docs/running.md
(--unlock, then --rerun-incomplete) resume from the last epoch checkpoint and end with exactly the
weights of an uninterrupted run (CPU, fixed seed)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import MIRROR
from workflow_utils import CLEAN_ONLY, SNAKEMAKE, configfile_args, copy_workflow, snakemake_cli, write_config

pytestmark = pytest.mark.pipeline

EPOCHS = 4
# One clean MNIST model and nothing else; 8,000 training digits (all of the test_file split) so an
# epoch lasts long enough (seconds) to kill the job between two checkpoints.
OVERRIDES = {
    **CLEAN_ONLY,
    "data": {"mirror": str(MIRROR)},
    "dataset_settings": {"mnist": {"epochs": EPOCHS, "max_train": 8000}},
}
TARGET = "results/tiny/models/mnist/clean/seed0/model.pt"
CHECKPOINT = "results/tiny/checkpoints/mnist/clean/seed0.pt"
LOG = "results/tiny/logs/train/mnist/clean/seed0.log"
KILL_TIMEOUT = 300  # seconds to wait for the first checkpoint


def _workflow(root: Path) -> tuple[Path, list[Path]]:
    wd = copy_workflow(root)
    return wd, [wd / "presets" / "tiny.yaml", write_config(wd, OVERRIDES)]


def _cmd(configs: list[Path], *extra: str) -> list[str]:
    # the target comes before --configfile, which takes every following argument as a file
    return [*SNAKEMAKE, TARGET, "--cores", "1", *extra, *configfile_args(configs)]


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]  # advreg.nn.models.save_model


def _wait_for_orphan_to_stop(log: Path, group: int, timeout: float = 60) -> str:
    """The training job's log ends with its KILLED line, and no process of the run is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        try:
            os.killpg(group, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        if "KILLED" in text and not alive:
            return text
        time.sleep(0.2)
    os.killpg(group, signal.SIGKILL)
    pytest.fail(f"the orphaned training job did not stop within {timeout} s; log:\n{text}")


def test_killed_training_resumes_to_identical_weights(tmp_path_factory, mnist_test_digits):
    t_start = time.perf_counter()
    # --- interrupted run: start, wait for the first epoch checkpoint, SIGKILL Snakemake alone
    wd, configs = _workflow(tmp_path_factory.mktemp("resume_killed"))
    ckpt, model = wd / CHECKPOINT, wd / TARGET
    with open(wd / "killed-run.log", "w") as out:
        proc = subprocess.Popen(_cmd(configs), cwd=wd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # own process group: snakemake + script
        try:
            deadline = time.monotonic() + KILL_TIMEOUT
            while not ckpt.exists():
                if proc.poll() is not None:
                    pytest.fail(f"snakemake ended (rc {proc.returncode}) before the first checkpoint:\n"
                                + (wd / "killed-run.log").read_text()[-3000:])
                if time.monotonic() > deadline:
                    pytest.fail(f"no checkpoint {ckpt} after {KILL_TIMEOUT} s")
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)  # Snakemake only: its job becomes an orphan
            proc.wait(timeout=60)
    killed_log = _wait_for_orphan_to_stop(wd / LOG, proc.pid)
    t_killed = time.perf_counter()
    assert proc.returncode == -signal.SIGKILL
    assert killed_log.splitlines()[-1].startswith("KILLED at "), killed_log
    assert "is gone; this orphaned job stops" in killed_log
    assert not model.exists(), "the job finished before it could be killed: make an epoch slower"
    assert ckpt.exists() and not ckpt.with_name(ckpt.name + ".part").exists()
    killed_at = torch.load(ckpt, map_location="cpu", weights_only=False)["epoch"]
    assert 1 <= killed_at < EPOCHS

    # --- re-run: the SIGKILL left Snakemake's lock behind, which --unlock removes (documented)
    snakemake_cli(wd, "--unlock", *configfile_args(configs))
    rerun = subprocess.run(_cmd(configs, "--rerun-incomplete"), cwd=wd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    log = (wd / LOG).read_text()
    lines = [re.sub(r"^\[[0-9-]+ [0-9:]+\] ", "", line) for line in log.splitlines()]  # timestamps off
    resumed = [line for line in lines if line.startswith("resuming clean from epoch")]
    assert resumed, f"the re-run did not resume from the checkpoint; log:\n{log}"
    start = int(resumed[0].split("from epoch ")[1].split()[0])
    assert start >= killed_at
    # only the remaining epochs were trained again
    # epoch-end lines only (a slow epoch also logs "clean epoch k/n: s/t steps …" progress lines)
    trained = [int(m.group(1)) for line in lines if (m := re.match(r"clean epoch (\d+)/\d+: loss ", line))]
    assert trained == list(range(start + 1, EPOCHS + 1)), log
    assert model.exists() and not ckpt.exists()  # the finished model replaces the checkpoint
    t_resumed = time.perf_counter()

    # --- the same job, uninterrupted, in another copy
    ref_wd, ref_configs = _workflow(tmp_path_factory.mktemp("resume_reference"))
    ref = subprocess.run(_cmd(ref_configs), cwd=ref_wd, capture_output=True, text=True)
    assert ref.returncode == 0, ref.stdout[-3000:] + ref.stderr[-3000:]
    assert "resuming" not in (ref_wd / LOG).read_text()

    got, want = _load_weights(model), _load_weights(ref_wd / TARGET)
    assert got.keys() == want.keys()
    differing = [k for k in want if not torch.equal(got[k], want[k])]
    assert not differing, f"resumed weights differ from an uninterrupted run in {differing}"
    # the per-epoch history is the same too (apart from the wall-clock seconds)
    h_got = pd.read_csv(wd / TARGET.replace("model.pt", "history.csv")).drop(columns="seconds")
    h_want = pd.read_csv(ref_wd / TARGET.replace("model.pt", "history.csv")).drop(columns="seconds")
    pd.testing.assert_frame_equal(h_got, h_want)
    print(f"\n[test_resume] killed after epoch {killed_at}/{EPOCHS}: kill run {t_killed - t_start:.1f} s, "
          f"resume {t_resumed - t_killed:.1f} s, uninterrupted {time.perf_counter() - t_resumed:.1f} s")
