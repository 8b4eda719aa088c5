"""Data: original file formats, checksums, the offline split, and the real mirror."""
from __future__ import annotations

import dataclasses
import gzip
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets.utils import calculate_md5

from advreg import data
from conftest import MIRROR


def _write_idx(path: Path, arr: np.ndarray) -> None:
    """Write an IDX file (the MNIST format: magic, dims, big-endian uint8 payload), gzip-compressed."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A mirror with small IDX files in MNIST's format, and a spec whose MD5s are theirs."""
    rng = np.random.default_rng(0)
    mirror = tmp_path / "mirror"
    (mirror / "mnist").mkdir(parents=True)
    arrays = {"train_images": rng.integers(0, 256, (30, 28, 28)), "train_labels": rng.integers(0, 10, 30),
              "test_images": rng.integers(0, 256, (20, 28, 28)), "test_labels": rng.integers(0, 10, 20)}
    spec = data.DATASETS["mnist"]
    files = {}
    for role, arr in arrays.items():
        fname = spec.files[role][0]
        _write_idx(mirror / "mnist" / fname, arr)
        files[role] = (fname, calculate_md5(str(mirror / "mnist" / fname)))
    monkeypatch.setitem(data.DATASETS, "mnist", dataclasses.replace(spec, files=files))
    return mirror, arrays


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch):
    """A mirror with a small CIFAR-10 pickle tarball in the original layout."""
    import torchvision.datasets as tvd

    rng = np.random.default_rng(1)
    batches = {}
    members = {}
    for name, _ in tvd.CIFAR10.train_list + tvd.CIFAR10.test_list:
        x = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        y = rng.integers(0, 10, 4).tolist()
        batches[name] = (x, y)
        members[name] = pickle.dumps({"data": x, "labels": y})
    members["batches.meta"] = pickle.dumps({"label_names": [f"c{i}" for i in range(10)]})
    mirror = tmp_path / "mirror"
    (mirror / "cifar10").mkdir(parents=True)
    archive = mirror / "cifar10" / tvd.CIFAR10.filename
    with tarfile.open(archive, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    # torchvision's CIFAR10 checks each batch file's MD5: point it at our small files' MD5s.
    md5 = {n: __import__("hashlib").md5(p).hexdigest() for n, p in members.items()}
    monkeypatch.setattr(tvd.CIFAR10, "train_list", [[n, md5[n]] for n, _ in tvd.CIFAR10.train_list])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [[n, md5[n]] for n, _ in tvd.CIFAR10.test_list])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {**tvd.CIFAR10.meta, "md5": md5["batches.meta"]})
    spec = data.DATASETS["cifar10"]
    monkeypatch.setitem(data.DATASETS, "cifar10", dataclasses.replace(
        spec, files={"archive": (archive.name, calculate_md5(str(archive)))}))
    return mirror, batches


def test_idx_files_load_with_official_split(fake_mnist, tmp_path):
    mirror, arrays = fake_mnist
    out = tmp_path / "mnist.pt"
    meta = data.prepare_dataset("mnist", out, tmp_path / "raw", str(mirror), "official", 8000)
    art = data.load_dataset(out)
    assert meta["split"] == "official"
    assert art["x_train"].shape == (30, 1, 28, 28) and art["x_train"].dtype == torch.uint8
    assert torch.equal(art["x_test"][:, 0], torch.from_numpy(arrays["test_images"].astype(np.uint8)))
    assert torch.equal(art["y_train"], torch.from_numpy(arrays["train_labels"]).long())


def test_auto_split_falls_back_to_test_file(fake_mnist, tmp_path):
    mirror, arrays = fake_mnist
    (mirror / "mnist" / data.DATASETS["mnist"].files["train_images"][0]).unlink()
    out = tmp_path / "mnist.pt"
    meta = data.prepare_dataset("mnist", out, tmp_path / "raw", str(mirror), "auto", 15)
    art = data.load_dataset(out)
    assert meta["split"] == "test_file" and "first 15 test images" in meta["split_description"]
    assert torch.equal(art["x_train"][:, 0], torch.from_numpy(arrays["test_images"][:15].astype(np.uint8)))
    assert torch.equal(art["y_test"], torch.from_numpy(arrays["test_labels"][15:]).long())


def test_cifar_tarball_loads(fake_cifar, tmp_path):
    mirror, batches = fake_cifar
    out = tmp_path / "cifar10.pt"
    data.prepare_dataset("cifar10", out, tmp_path / "raw", str(mirror), "official", 8000)
    art = data.load_dataset(out)
    assert art["x_train"].shape == (20, 3, 32, 32) and art["x_test"].shape == (4, 3, 32, 32)
    x0, y0 = batches["data_batch_1"]
    # CIFAR rows are 1024 red, then green, then blue values, row-major per channel.
    assert torch.equal(art["x_train"][0], torch.from_numpy(x0[0].reshape(3, 32, 32)))
    assert art["y_train"][:4].tolist() == y0


def test_corrupt_file_is_a_clear_error_and_leaves_no_artifact(fake_mnist, tmp_path):
    mirror, _ = fake_mnist
    fname, md5 = data.DATASETS["mnist"].files["test_images"]
    bad = mirror / "mnist" / fname
    bad.write_bytes(bad.read_bytes()[:-10])  # truncated download
    out = tmp_path / "mnist.pt"
    with pytest.raises(data.DataError) as err:
        data.prepare_dataset("mnist", out, tmp_path / "raw", str(mirror), "official", 8000)
    assert fname in str(err.value) and md5 in str(err.value)
    assert not out.exists() and not list(tmp_path.glob("mnist.pt*"))


def test_missing_file_names_file_and_checksum(fake_mnist, tmp_path):
    mirror, _ = fake_mnist
    fname, md5 = data.DATASETS["mnist"].files["test_labels"]
    (mirror / "mnist" / fname).unlink()
    with pytest.raises(data.DataError, match=rf"{fname}.*MD5 {md5}"):
        data.prepare_dataset("mnist", tmp_path / "m.pt", tmp_path / "raw", str(mirror), "official", 5)
    assert not (tmp_path / "m.pt").exists()


def test_unknown_dataset_and_split_are_rejected(tmp_path):
    with pytest.raises(data.DataError, match="unknown dataset 'svhn'"):
        data.get_spec("svhn")
    with pytest.raises(data.DataError, match="unknown split 'random'"):
        data.resolve_split(data.DATASETS["mnist"], "random", None)


def test_real_mirror_test_file(mnist_test_digits, tmp_path):
    """The official MNIST test file from the mirror: MD5-verified, 10,000 digits, offline split."""
    out = tmp_path / "mnist.pt"
    meta = data.prepare_dataset("mnist", out, tmp_path / "raw", str(MIRROR), "auto", 8000)
    art = data.load_dataset(out)
    assert meta["split"] == "test_file"  # the mirror has no training images
    assert meta["files"]["t10k-images-idx3-ubyte.gz"] == "9fb629c4189551a2d022fa330f9573f3"
    assert len(art["x_train"]) == 8000 and len(art["x_test"]) == 2000
    x, y = mnist_test_digits
    assert torch.equal(art["x_test"].float().div(255), x[8000:])
    assert torch.equal(art["y_train"], y[:8000])
    assert sorted(art["y_test"].unique().tolist()) == list(range(10))
