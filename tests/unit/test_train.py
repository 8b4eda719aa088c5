"""The shared training loop: learning, exact resume, NaN handling, device augmentation."""
from __future__ import annotations

import pytest
import torch
from conftest import write_digits_artifact

from advreg.jobs.train import train_job
from advreg.nn.models import load_model
from advreg.training.loop import NonFiniteLossError
from advreg.training.settings import TrainSettings

SPEC = dict(arch="cw", in_channels=1, image_size=28, widths=[8, 8, 16, 16, 32, 32], num_classes=10)


@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory, synthetic_digits):
    """600 synthetic digits as a dataset artifact (400 train / 100 validation / 100 test)."""
    return write_digits_artifact(tmp_path_factory.mktemp("data") / "mnist.pt", synthetic_digits, 400, 600)


def _settings(**kw):
    base = dict(epochs=3, batch_size=50, lr=3e-3, seed=0, crop_pad=2, flip=False, fill=0.0,
                eval_batch_size=200)
    return TrainSettings(**{**base, **kw})


def test_training_lowers_the_loss(small_mnist, tmp_path):
    lines = []
    hist = train_job(small_mnist, SPEC, "clean", {"kind": "clean"}, _settings(epochs=6), tmp_path / "m.pt",
                 tmp_path / "h.csv", tmp_path / "ck.pt", device="cpu", log=lines.append)
    assert hist[-1]["loss"] < 0.8 * hist[0]["loss"]
    # the log opens with the hyperparameters, gives accuracies in %, and names the saved model
    assert any(line.startswith("clean hyperparameters: kind clean; training: epochs 6, batch_size 50, lr 0.003")
               for line in lines)
    assert f"val {100 * hist[-1]['val_acc']:.2f} %" in lines[-2]
    assert lines[-1] == (f"clean: saved {tmp_path / 'm.pt'} (epoch 6, validation accuracy "
                         f"{100 * hist[-1]['val_acc']:.2f} %)")
    assert hist[-1]["val_acc"] > 0.85  # synthetic digits: 0.94 after 48 small steps (chance: 0.1)
    model, blob = load_model(tmp_path / "m.pt")
    assert blob["info"]["method"] == "clean" and not (tmp_path / "ck.pt").exists()
    assert (tmp_path / "h.csv").read_text().startswith("epoch,loss,ce,reg,train_acc,val_acc,seconds")


def test_resume_matches_uninterrupted_run(small_mnist, tmp_path):
    s = _settings(epochs=3)
    quiet = lambda *a: None  # noqa: E731
    train_job(small_mnist, SPEC, "wdecay", {"weight_decay": 1e-3}, s, tmp_path / "a.pt", tmp_path / "a.csv",
          tmp_path / "a_ck.pt", device="cpu", log=quiet)
    # interrupted after epoch 1 (checkpoint only), then re-run from the checkpoint
    train_job(small_mnist, SPEC, "wdecay", {"weight_decay": 1e-3}, s, tmp_path / "b.pt", tmp_path / "b.csv",
          tmp_path / "b_ck.pt", device="cpu", log=quiet, stop_after_epoch=1)
    assert (tmp_path / "b_ck.pt").exists() and not (tmp_path / "b.pt").exists()
    lines = []
    train_job(small_mnist, SPEC, "wdecay", {"weight_decay": 1e-3}, s, tmp_path / "b.pt", tmp_path / "b.csv",
          tmp_path / "b_ck.pt", device="cpu", log=lines.append)
    assert any("resuming wdecay from epoch 1" in str(m) for m in lines)
    a = torch.load(tmp_path / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_nonfinite_loss_stops_without_model(small_mnist, tmp_path):
    with pytest.raises(NonFiniteLossError, match=r"loss is not finite at epoch 1, step \d+"):
        train_job(small_mnist, SPEC, "clean", {}, _settings(lr=1e30, epochs=3), tmp_path / "m.pt",
              tmp_path / "h.csv", tmp_path / "ck.pt", device="cpu", log=lambda *a: None)
    # found before the epoch's checkpoint: nothing of the diverged run is kept
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "ck.pt").exists()


@pytest.mark.parametrize("method", ["clean", "fgsm", "pgd", "sgr_sign", "lrc", "fgm_l2"])
def test_a_training_step_reads_nothing_back_from_the_device(small_mnist, tmp_path, method):
    """Issue 30: the training loop and the methods keep losses and statistics on the device, so a
    step issues no host read (each one a GPU sync on CUDA). Counted on the CPU by wrapping every
    tensor-to-host conversion called from this project's code (torch's own, e.g. Adam's CPU step
    counter, are no device syncs on CUDA): a run of 20 steps makes exactly as many reads as one of
    10 (the per-epoch ones: the epoch's sums, the finiteness check, the validation accuracy)."""
    from pathlib import Path

    from advreg.base.timing import host_reads
    from advreg.workflow import config_check, config_views

    repo = Path(__file__).resolve().parents[2]
    config = config_check.load([repo / "config.yaml"])
    cfg = config_views.method_cfg(config, "mnist", method)
    cfg.pop("spectral_norm", None)
    if "steps" in cfg:
        cfg["steps"] = 2
    reads = []
    for steps in (10, 20):
        with host_reads() as calls:
            train_job(small_mnist, SPEC, method, cfg, _settings(epochs=1, batch_size=16, max_train=16 * steps),
                  tmp_path / f"m{steps}.pt", tmp_path / f"h{steps}.csv", tmp_path / f"ck{steps}.pt",
                  device="cpu", log=lambda *a: None)
        reads.append(calls)
    assert reads[0], "the wrapper saw no read at all: it does not count"
    assert len(reads[1]) == len(reads[0]), sorted(set(reads[1]) - set(reads[0]))
