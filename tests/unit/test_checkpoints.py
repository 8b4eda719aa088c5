"""A checkpoint is resumed only when everything that determines the weights is identical (settings,
seed, dataset bytes, code, torch); anything else, and any checkpoint that cannot be read, is moved
aside (kept) with a line saying why, and training starts from scratch (issue 13)."""
from __future__ import annotations

import pytest
import torch
from conftest import write_digits_artifact

import advreg.jobs.train as T
import advreg.training.loop as L
from advreg.base.provenance import code_digest, file_digest, module_closure
from advreg.jobs.train import train_job
from advreg.training.settings import TrainSettings

SPEC = dict(arch="cw", in_channels=1, image_size=28, widths=[4, 4, 8, 8, 16, 16], num_classes=10)


@pytest.fixture(scope="module")
def digits(tmp_path_factory, synthetic_digits):
    root = tmp_path_factory.mktemp("ckdata")
    a = write_digits_artifact(root / "a.pt", synthetic_digits, 200, 400)
    # the same sizes, other images: what a changed split or cap produces
    x, y = synthetic_digits
    b = write_digits_artifact(root / "b.pt", (x[400:], y[400:]), 200, 400)
    return a, b


def _settings(**kw):
    return TrainSettings(**{**dict(epochs=2, batch_size=50, lr=3e-3, seed=0, eval_batch_size=200), **kw})


def _weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


def _interrupted(data, tmp):
    train_job(data, SPEC, "clean", {}, _settings(), tmp / "m.pt", tmp / "h.csv", tmp / "ck.pt",
          device="cpu", log=lambda *a: None, stop_after_epoch=1)
    assert (tmp / "ck.pt").exists() and not (tmp / "m.pt").exists()


def test_changed_data_is_not_resumed(digits, tmp_path):
    """Before issue 13: a checkpoint of other data was resumed ("resuming clean from epoch 1")."""
    a, b = digits
    _interrupted(a, tmp_path)
    lines = []
    train_job(b, SPEC, "clean", {}, _settings(), tmp_path / "m.pt", tmp_path / "h.csv", tmp_path / "ck.pt",
          device="cpu", log=lines.append)
    text = "\n".join(map(str, lines))
    assert "resuming" not in text
    assert "cannot be resumed: it was written with different data" in text
    kept = list(tmp_path.glob("ck.pt.stale-*"))
    assert len(kept) == 1 and torch.load(kept[0], weights_only=False)["epoch"] == 1  # kept, not deleted
    # the finished model is the one a fresh run on b gives
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    train_job(b, SPEC, "clean", {}, _settings(), fresh / "m.pt", fresh / "h.csv", fresh / "ck.pt",
          device="cpu", log=lambda *a: None)
    got, want = _weights(tmp_path / "m.pt"), _weights(fresh / "m.pt")
    assert all(torch.equal(got[k], want[k]) for k in want)


def test_changed_code_is_not_resumed(digits, tmp_path, monkeypatch):
    """Before issue 13: the code was not part of the signature, so an edit resumed old epochs."""
    a, _ = digits
    _interrupted(a, tmp_path)
    monkeypatch.setattr(L, "code_digest", lambda module: "edited-code")
    lines = []
    train_job(a, SPEC, "clean", {}, _settings(), tmp_path / "m.pt", tmp_path / "h.csv", tmp_path / "ck.pt",
          device="cpu", log=lines.append)
    assert any("cannot be resumed: it was written with different code" in str(m) for m in lines)
    assert list(tmp_path.glob("ck.pt.stale-*"))


def test_changed_seed_is_not_resumed(digits, tmp_path):
    a, _ = digits
    _interrupted(a, tmp_path)
    lines = []
    train_job(a, SPEC, "clean", {}, _settings(seed=1), tmp_path / "m.pt", tmp_path / "h.csv",
          tmp_path / "ck.pt", device="cpu", log=lines.append)
    assert any("cannot be resumed: it was written with different settings" in str(m) for m in lines)


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_unreadable_checkpoint_is_moved_aside_and_training_restarts(digits, tmp_path, damage):
    """Before issue 13: `OSError: [Errno 22] Invalid argument` from torch.load, no path, and the
    job failed on every re-run."""
    a, _ = digits
    _interrupted(a, tmp_path)
    ck = tmp_path / "ck.pt"
    raw = ck.read_bytes()
    bad = {"truncated": raw[: len(raw) // 3], "empty": b"", "garbage": b"not a checkpoint"}[damage]
    ck.write_bytes(bad)
    (tmp_path / "ck.pt.part").write_bytes(b"")  # what a kill during torch.save left before
    lines = []
    train_job(a, SPEC, "clean", {}, _settings(), tmp_path / "m.pt", tmp_path / "h.csv", ck,
          device="cpu", log=lines.append)
    text = "\n".join(map(str, lines))
    assert f"WARNING: checkpoint {ck} cannot be loaded" in text and "moved to" in text
    assert "removed" in text and "incomplete save" in text
    corrupt = list(tmp_path.glob("ck.pt.corrupt-*"))
    assert len(corrupt) == 1 and corrupt[0].read_bytes() == bad  # kept as it was, for a post-mortem
    assert (tmp_path / "m.pt").exists()
    # nothing stray is left: no checkpoint, no .part
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ck.pt")) == [corrupt[0].name]


def test_save_leaves_no_part_file_when_interrupted(tmp_path, monkeypatch):
    """A save that fails half-way (a kill raises inside torch.save) keeps the previous checkpoint
    and removes its temporary file."""
    path = tmp_path / "ck.pt"
    T.save_checkpoint(path, {"epoch": 1})

    def boom(obj, f):
        open(f, "wb").write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(T.torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        T.save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert torch.load(path, weights_only=False)["epoch"] == 1
    assert not (tmp_path / "ck.pt.part").exists()


def test_signature_covers_every_module_training_imports():
    mods = module_closure("advreg.training.loop")
    # the method registry, regularizers, covariance estimates, attacks (PGD augmentation), models,
    # SN layers and data loading all determine the weights
    for m in ("advreg.training.methods", "advreg.sgr.regularizers", "advreg.sgr.covariance", "advreg.attacks.whitebox",
              "advreg.nn.models", "advreg.nn.spectral", "advreg.data.artifact", "advreg.training.augment", "advreg.sgr.lrc_noise"):
        assert m in mods
    assert "advreg.figures.common" not in mods  # figures do not re-run training
    assert len(code_digest("advreg.training.loop")) == 16


def test_file_digest_is_of_the_bytes(tmp_path):
    p, q = tmp_path / "a", tmp_path / "b"
    p.write_bytes(b"x" * 10)
    q.write_bytes(b"x" * 9 + b"y")
    assert file_digest(p) != file_digest(q)
    q.write_bytes(b"x" * 10)
    assert file_digest(p) == file_digest(q)


def test_a_real_source_edit_changes_the_code_fingerprint(tmp_path, monkeypatch):
    """Not a monkeypatched digest: a copy of the package whose regularizer gains a line."""
    import shutil

    import advreg.base.provenance as P
    root = tmp_path / "advreg"
    shutil.copytree(P._ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(P, "_ROOT", root)
    P.code_digest.cache_clear()
    before = P.code_digest("advreg.training.loop")
    (root / "base" / "progress.py").write_text((root / "base" / "progress.py").read_text() + "\n# log format only\n")
    P.code_digest.cache_clear()
    assert P.code_digest("advreg.training.loop") == before  # log formatting is not part of the fingerprint
    (root / "sgr" / "regularizers.py").write_text((root / "sgr" / "regularizers.py").read_text() + "\n# edited\n")
    P.code_digest.cache_clear()
    assert P.code_digest("advreg.training.loop") != before
    P.code_digest.cache_clear()


def test_a_checkpoint_of_another_device_is_not_resumed(digits, tmp_path):
    a, _ = digits
    _interrupted(a, tmp_path)
    ck = torch.load(tmp_path / "ck.pt", weights_only=False)
    ck["signature_parts"]["device"] = "cuda"  # as written on a GPU node
    torch.save(ck, tmp_path / "ck.pt")
    lines = []
    train_job(a, SPEC, "clean", {}, _settings(), tmp_path / "m.pt", tmp_path / "h.csv", tmp_path / "ck.pt",
          device="cpu", log=lines.append)
    assert any("written with different device" in str(m) for m in lines)
