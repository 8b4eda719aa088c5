"""The shared training loop: learning, exact resume, NaN handling, device augmentation."""
from __future__ import annotations

import torch

from advreg import augment
from advreg.models import load_model
from advreg.train import NonFiniteLossError, TrainSettings, train
import pytest
from conftest import write_digits_artifact

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
    hist = train(small_mnist, SPEC, "clean", {"kind": "clean"}, _settings(epochs=6), tmp_path / "m.pt",
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
    train(small_mnist, SPEC, "wdecay", {"weight_decay": 1e-3}, s, tmp_path / "a.pt", tmp_path / "a.csv",
          tmp_path / "a_ck.pt", device="cpu", log=quiet)
    # interrupted after epoch 1 (checkpoint only), then re-run from the checkpoint
    train(small_mnist, SPEC, "wdecay", {"weight_decay": 1e-3}, s, tmp_path / "b.pt", tmp_path / "b.csv",
          tmp_path / "b_ck.pt", device="cpu", log=quiet, stop_after_epoch=1)
    assert (tmp_path / "b_ck.pt").exists() and not (tmp_path / "b.pt").exists()
    lines = []
    train(small_mnist, SPEC, "wdecay", {"weight_decay": 1e-3}, s, tmp_path / "b.pt", tmp_path / "b.csv",
          tmp_path / "b_ck.pt", device="cpu", log=lines.append)
    assert any("resuming wdecay from epoch 1" in str(m) for m in lines)
    a = torch.load(tmp_path / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_nonfinite_loss_stops_without_model(small_mnist, tmp_path):
    with pytest.raises(NonFiniteLossError, match="loss is (nan|inf)"):
        train(small_mnist, SPEC, "clean", {}, _settings(lr=1e30, epochs=3), tmp_path / "m.pt",
              tmp_path / "h.csv", tmp_path / "ck.pt", device="cpu", log=lambda *a: None)
    assert not (tmp_path / "m.pt").exists()


def test_stale_checkpoint_is_kept_aside(small_mnist, tmp_path):
    quiet = lambda *a: None  # noqa: E731
    train(small_mnist, SPEC, "clean", {}, _settings(epochs=2), tmp_path / "m.pt", tmp_path / "h.csv",
          tmp_path / "ck.pt", device="cpu", log=quiet, stop_after_epoch=1)
    train(small_mnist, SPEC, "clean", {}, _settings(epochs=2, lr=1e-3), tmp_path / "m.pt",
          tmp_path / "h.csv", tmp_path / "ck.pt", device="cpu", log=quiet)
    assert list(tmp_path.glob("ck.pt.stale-*")) and (tmp_path / "m.pt").exists()


def test_device_augmentation_crops_and_flips():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 1 * 5 * 5, dtype=torch.float32).view(2, 1, 5, 5)
    out = augment.random_crop(x, 2, -1.0, g)
    assert out.shape == x.shape
    for img, src in zip(out, x):  # every crop is a shifted window of the zero... (-1)-padded image
        padded = torch.nn.functional.pad(src, (2, 2, 2, 2), value=-1.0)
        assert any(torch.equal(img, padded[:, i:i + 5, j:j + 5]) for i in range(5) for j in range(5))
    flips = augment.random_flip(x.repeat(50, 1, 1, 1), g)
    n_flipped = sum(torch.equal(f, s.flip(2)) for f, s in zip(flips, x.repeat(50, 1, 1, 1)))
    assert 25 < n_flipped < 75


def test_early_stopping_and_sgd(small_mnist, tmp_path):
    """The SN paper's schedule: SGD with momentum, stop once the mean train accuracy of the last
    `early_stop_epochs` epochs reaches the threshold (here reached after 2 epochs)."""
    hist = train(small_mnist, SPEC, "clean", {}, _settings(epochs=6, optimizer="sgd", momentum=0.9, lr=0.05, crop_pad=0,
                                                           early_stop_acc=0.01, early_stop_epochs=2),
                 tmp_path / "m.pt", tmp_path / "h.csv", tmp_path / "ck.pt", device="cpu", log=lambda *a: None)
    assert len(hist) == 2
    _, blob = load_model(tmp_path / "m.pt")
    assert blob["info"]["settings"]["optimizer"] == "sgd" and blob["info"]["data_mean_norm"] > 1
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd', got 'rmsprop'"):
        _settings(optimizer="rmsprop")


def test_training_never_reads_the_test_split(small_mnist, tmp_path):
    """Selection (the validation curve, early stopping) runs on train + validation only: training
    works on an artifact whose test split has been removed, and the history's accuracy is the
    validation accuracy."""
    art = torch.load(small_mnist, weights_only=True)
    del art["x_test"], art["y_test"]
    torch.save(art, tmp_path / "no_test.pt")
    hist = train(tmp_path / "no_test.pt", SPEC, "clean", {}, _settings(epochs=2), tmp_path / "m.pt",
                 tmp_path / "h.csv", tmp_path / "ck.pt", device="cpu", log=lambda *a: None)
    model, _ = load_model(tmp_path / "m.pt")
    with torch.no_grad():
        val = (model(art["x_val"].float() / 255).argmax(1) == art["y_val"]).float().mean().item()
    assert hist[-1]["val_acc"] == pytest.approx(val)


def test_linear_schedule_decays_to_zero_and_resumes_exactly(small_mnist, tmp_path):
    s = _settings(epochs=2, lr_schedule="linear")
    quiet = lambda *a: None  # noqa: E731
    train(small_mnist, SPEC, "clean", {}, s, tmp_path / "a.pt", tmp_path / "a.csv", tmp_path / "a_ck.pt",
          device="cpu", log=quiet)
    train(small_mnist, SPEC, "clean", {}, s, tmp_path / "b.pt", tmp_path / "b.csv", tmp_path / "b_ck.pt",
          device="cpu", log=quiet, stop_after_epoch=1)
    ck = torch.load(tmp_path / "b_ck.pt", weights_only=False)
    assert ck["scheduler"]["last_epoch"] == 8  # 400 images / 50 per batch: 8 steps in epoch 1 of 2
    assert ck["optimizer"]["param_groups"][0]["lr"] == pytest.approx(s.lr * 0.5)
    train(small_mnist, SPEC, "clean", {}, s, tmp_path / "b.pt", tmp_path / "b.csv", tmp_path / "b_ck.pt",
          device="cpu", log=quiet)
    a = torch.load(tmp_path / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="lr_schedule must be"):
        _settings(lr_schedule="cosine")
