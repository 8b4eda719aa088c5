"""The stored state of the paper_mnist run (issue 39, docs/evidence/paper_mnist/): a run carried over
several working sessions is only one run if every stored model and checkpoint was trained with
what the preset resolves today (model, method and its hyperparameters, schedule, seed), at the
run's one commit, and a model is stored either finished or as a checkpoint, never both."""
from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
import torch
from workflow_utils import REPO

from advreg.training.loop import settings_fingerprint
from advreg.training.settings import TrainSettings
from advreg.workflow import config_check, config_views

STORE = REPO / "docs" / "evidence" / "paper_mnist"
MODELS = sorted((STORE / "models").glob("mnist/*/seed*/model.pt"))
CHECKPOINTS = sorted((STORE / "checkpoints").glob("mnist/*/seed*.pt"))


@pytest.fixture(scope="module")
def cfg() -> dict:
    return config_check.load([REPO / "config.yaml", REPO / "presets" / "paper_mnist.yaml"])


def _resolved(cfg: dict, method: str, seed: str) -> tuple[dict, dict, dict]:
    return (config_views.model_spec(cfg, "mnist", method), config_views.method_cfg(cfg, "mnist", method),
            config_views.train_settings(cfg, "mnist", seed))


def test_the_run_commit_is_in_the_history():
    commit = (STORE / "RUN_COMMIT").read_text().strip()
    assert len(commit) == 40
    # the state is only resumable in a clone at this commit (docs/evidence/paper_mnist/run_state.sh)
    subprocess.run(["git", "-C", str(REPO), "merge-base", "--is-ancestor", commit, "HEAD"], check=True)


def test_every_stored_state_is_one_runs():
    """Models and checkpoints alike: the same dataset artifact, the same training code (the run's
    commit) and the same torch, whichever session trained them."""
    parts = [torch.load(p, map_location="cpu", weights_only=True)["info"]["signature_parts"] for p in MODELS]
    parts += [torch.load(p, map_location="cpu", weights_only=False)["signature_parts"] for p in CHECKPOINTS]
    if not parts:
        pytest.skip("nothing stored yet")
    assert len({(p["data"], p["code"], p["torch"], p["device"]) for p in parts}) == 1


@pytest.mark.parametrize("path", MODELS, ids=lambda p: f"{p.parent.parent.name}-{p.parent.name}")
def test_a_stored_model_is_the_presets_finished_model(path: Path, cfg):
    method, seed = path.parent.parent.name, path.parent.name.removeprefix("seed")
    spec, mcfg, settings = _resolved(cfg, method, seed)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    assert blob["spec"] == spec
    assert blob["info"]["method"] == method and blob["info"]["method_cfg"] == mcfg
    assert blob["info"]["settings"] == settings
    assert blob["info"]["signature_parts"]["settings"] == settings_fingerprint(spec, method, mcfg,
                                                                                TrainSettings(**settings))
    assert blob["info"]["n_train"] == config_views.run_regime(cfg)["datasets"]["mnist"]["training_images"]
    with open(path.with_name("history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(1, settings["epochs"] + 1))  # every epoch, once
    assert float(rows[-1]["val_acc"]) == pytest.approx(blob["info"]["final"]["val_acc"])
    assert not (STORE / "checkpoints" / "mnist" / method / f"seed{seed}.pt").exists()


@pytest.mark.parametrize("path", CHECKPOINTS, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_a_stored_checkpoint_resumes_the_presets_model(path: Path, cfg):
    method, seed = path.parent.name, path.stem.removeprefix("seed")
    spec, mcfg, settings = _resolved(cfg, method, seed)
    ck = torch.load(path, map_location="cpu", weights_only=False)
    assert ck["signature_parts"]["settings"] == settings_fingerprint(spec, method, mcfg, TrainSettings(**settings))
    assert 1 <= ck["epoch"] < settings["epochs"]
    assert [r["epoch"] for r in ck["history"]] == list(range(1, ck["epoch"] + 1))


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def store_and_run(tmp_path):
    """A throwaway repository holding run_state.sh and its RUN_COMMIT, and a run clone at that commit
    with a finished model, an unfinished one's checkpoint and a log (files of arbitrary bytes: save
    copies, it does not read them)."""
    repo = tmp_path / "repo"
    store = repo / "docs" / "evidence" / "paper_mnist"
    store.mkdir(parents=True)
    (store / "run_state.sh").write_bytes((STORE / "run_state.sh").read_bytes())
    (store / "run_state.sh").chmod(0o755)
    _git("init", "-q", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "run", cwd=repo)
    (store / "RUN_COMMIT").write_text(_git("rev-parse", "HEAD", cwd=repo) + "\n")
    run = tmp_path / "run"
    _git("clone", "-q", str(repo), str(run), cwd=tmp_path)
    out = run / "results" / "paper_mnist"
    for rel, data in {"models/mnist/clean/seed0/model.pt": b"weights", "models/mnist/clean/seed0/history.csv": b"h",
                      "checkpoints/mnist/gn/seed0.pt": b"epoch 3", "logs/train/mnist/gn/seed0.log": b"log"}.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    return store, run


def _state(store: Path, run: Path, cmd: str = "save"):
    return subprocess.run([str(store / "run_state.sh"), cmd, str(run)], capture_output=True, text=True)


def test_save_stores_finished_models_checkpoints_and_logs(store_and_run):
    store, run = store_and_run
    (store / "checkpoints" / "mnist" / "clean").mkdir(parents=True)
    (store / "checkpoints" / "mnist" / "clean" / "seed0.pt").write_bytes(b"an earlier session's epoch 9")
    r = _state(store, run)
    assert r.returncode == 0, r.stderr
    assert (store / "models/mnist/clean/seed0/model.pt").read_bytes() == b"weights"
    assert (store / "checkpoints/mnist/gn/seed0.pt").read_bytes() == b"epoch 3"
    assert not (store / "checkpoints/mnist/clean/seed0.pt").exists()  # finished since: its checkpoint goes
    logs = list((store / "sessions").glob("*/train/mnist/gn/seed0.log"))
    assert [p.read_bytes() for p in logs] == [b"log"]
    assert "commit: " in next((store / "sessions").glob("*/machine.txt")).read_text()
    # a later session's checkpoint of the same model replaces the stored one
    (run / "results/paper_mnist/checkpoints/mnist/gn/seed0.pt").write_bytes(b"epoch 7")
    assert _state(store, run).returncode == 0
    assert (store / "checkpoints/mnist/gn/seed0.pt").read_bytes() == b"epoch 7"


def test_save_never_replaces_a_stored_model_by_another(store_and_run):
    store, run = store_and_run
    assert _state(store, run).returncode == 0
    (run / "results/paper_mnist/models/mnist/clean/seed0/model.pt").write_bytes(b"other weights")
    r = _state(store, run)
    assert r.returncode == 2 and "model.pt differs" in r.stderr and "not replaced" in r.stderr
    assert (store / "models/mnist/clean/seed0/model.pt").read_bytes() == b"weights"


def test_the_run_state_refuses_a_clone_at_another_commit(store_and_run):
    store, run = store_and_run
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "later", cwd=run)
    for cmd in ("save", "run"):
        r = _state(store, run, cmd)
        assert r.returncode == 2 and "expected the run's commit" in r.stderr and not (store / "models").exists()
    r = _state(store, run, "resume")
    assert r.returncode == 2 and "unknown command 'resume'" in r.stderr


def test_publish_takes_the_summary_markdown_tables_and_svg_figures(store_and_run):
    store, run = store_and_run
    r = _state(store, run, "publish")
    assert r.returncode == 2 and "summary.md is missing" in r.stderr and not (store / "tables").exists()
    out = run / "results" / "paper_mnist"
    for rel in ("summary.md", "tables/claims.md", "tables/claims.csv", "tables/regime.md",
                "comparison/mnist_pgd_eps32.md", "figures/fig2.svg", "figures/fig2.png"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(rel)
    assert _state(store, run, "publish").returncode == 0
    published = sorted(str(p.relative_to(store)) for p in store.rglob("*")
                       if p.is_file() and p.parts[len(store.parts)] in ("tables", "comparison", "figures"))
    assert published == ["comparison/mnist_pgd_eps32.md", "figures/fig2.svg", "tables/claims.md", "tables/regime.md"]
    assert (store / "summary.md").read_text() == "summary.md"
