"""Data: original file formats, checksums, the validation split, the test-file fallback, the
ordered list of sources (local folders, a localhost HTTP server), and the real mirror."""
from __future__ import annotations

import dataclasses
import functools
import gzip
import http.server
import io
import pickle
import shutil
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import MIRROR, need_mirror
from torchvision.datasets.utils import calculate_md5

from advreg.data import artifact as data
from advreg.data import sources as data_sources
from advreg.jobs.data import prepare_dataset


def _write_idx(path: Path, arr: np.ndarray) -> None:
    """Write an IDX file (the MNIST format: magic, dims, big-endian uint8 payload), gzip-compressed."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def _fake_idx_dataset(name, tmp_path, monkeypatch, seed):
    """A mirror with small IDX files in ``name``'s file names and format, and a spec whose MD5s
    are theirs (and whose official URLs point nowhere reachable)."""
    rng = np.random.default_rng(seed)
    mirror = tmp_path / "mirror"
    (mirror / name).mkdir(parents=True)
    arrays = {"train_images": rng.integers(0, 256, (30, 28, 28)), "train_labels": rng.integers(0, 10, 30),
              "test_images": rng.integers(0, 256, (20, 28, 28)), "test_labels": rng.integers(0, 10, 20)}
    spec = data_sources.DATASETS[name]
    files = {}
    for role, arr in arrays.items():
        fname = spec.files[role][0]
        _write_idx(mirror / name / fname, arr)
        files[role] = (fname, calculate_md5(str(mirror / name / fname)))
    monkeypatch.setitem(data_sources.DATASETS, name, dataclasses.replace(spec, files=files, urls=("http://127.0.0.1:9/",)))
    return mirror, arrays


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    return _fake_idx_dataset("mnist", tmp_path, monkeypatch, 0)


@pytest.fixture
def fake_fashion(tmp_path, monkeypatch):
    return _fake_idx_dataset("fashion_mnist", tmp_path, monkeypatch, 2)


def _prepare(name, out, raw, mirror, split="official", test_file_train=15, val=5, offline=True, log=None):
    lines = []
    meta = prepare_dataset(name, out, raw, mirror, split, test_file_train, val, offline=offline,
                                log=log or lines.append)
    return meta, lines


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
    spec = data_sources.DATASETS["cifar10"]
    monkeypatch.setitem(data_sources.DATASETS, "cifar10", dataclasses.replace(
        spec, files={"archive": (archive.name, calculate_md5(str(archive)))}))
    return mirror, batches


def test_idx_files_load_with_official_split(fake_mnist, tmp_path):
    """Official split: the training file's last `val` images validate, the test file is the test set."""
    mirror, arrays = fake_mnist
    out = tmp_path / "mnist.pt"
    meta, _ = _prepare("mnist", out, tmp_path / "raw", [str(mirror)], "official", val=5)
    art = data.load_dataset(out)
    assert meta["split"] == "official" and meta["counts"] == {"train": 25, "val": 5, "test": 20}
    assert "25 training images" in meta["split_description"] and "5 validation" in meta["split_description"]
    assert art["x_train"].shape == (25, 1, 28, 28) and art["x_train"].dtype == torch.uint8
    assert torch.equal(art["x_test"][:, 0], torch.from_numpy(arrays["test_images"].astype(np.uint8)))
    assert torch.equal(art["y_train"], torch.from_numpy(arrays["train_labels"][:25]).long())
    assert torch.equal(art["y_val"], torch.from_numpy(arrays["train_labels"][25:]).long())


def test_auto_split_falls_back_to_test_file_on_a_partial_mirror(fake_mnist, tmp_path):
    """A mirror that holds only the test file (built here): `auto` logs its choice and carves
    train / validation / test from the test file."""
    mirror, arrays = fake_mnist
    for role in ("train_images", "train_labels"):
        (mirror / "mnist" / data_sources.DATASETS["mnist"].files[role][0]).unlink()
    out = tmp_path / "mnist.pt"
    meta, lines = _prepare("mnist", out, tmp_path / "raw", str(mirror), "auto", test_file_train=15, val=5)
    art = data.load_dataset(out)
    assert meta["split"] == "test_file" and "first 10 images train, the next 5 validate" in meta["split_description"]
    assert any("test_file split" in str(m) and "no source holds" in str(m) for m in lines)
    assert torch.equal(art["x_train"][:, 0], torch.from_numpy(arrays["test_images"][:10].astype(np.uint8)))
    assert torch.equal(art["y_val"], torch.from_numpy(arrays["test_labels"][10:15]).long())
    assert torch.equal(art["y_test"], torch.from_numpy(arrays["test_labels"][15:]).long())


def test_auto_split_logs_the_official_choice(fake_mnist, tmp_path):
    mirror, _ = fake_mnist
    meta, lines = _prepare("mnist", tmp_path / "m.pt", tmp_path / "raw", [str(mirror)], "auto")
    assert meta["split"] == "official"
    assert any("official split" in str(m) and "holds the training files" in str(m) for m in lines)


def test_cifar_tarball_loads(fake_cifar, tmp_path):
    mirror, batches = fake_cifar
    out = tmp_path / "cifar10.pt"
    _prepare("cifar10", out, tmp_path / "raw", str(mirror), "official", val=4)
    art = data.load_dataset(out)
    assert art["x_train"].shape == (16, 3, 32, 32) and art["x_val"].shape == (4, 3, 32, 32)
    assert art["x_test"].shape == (4, 3, 32, 32)
    x0, y0 = batches["data_batch_1"]
    # CIFAR rows are 1024 red, then green, then blue values, row-major per channel.
    assert torch.equal(art["x_train"][0], torch.from_numpy(x0[0].reshape(3, 32, 32)))
    assert art["y_train"][:4].tolist() == y0


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_corrupt_file_is_a_clear_error_and_leaves_no_artifact(name, tmp_path, monkeypatch):
    mirror, _ = _fake_idx_dataset(name, tmp_path, monkeypatch, 3)
    fname, md5 = data_sources.DATASETS[name].files["test_images"]
    bad = mirror / name / fname
    bad.write_bytes(bad.read_bytes()[:-10])  # truncated download
    out = tmp_path / f"{name}.pt"
    with pytest.raises(data.DataError) as err:
        _prepare(name, out, tmp_path / "raw", str(mirror))
    assert fname in str(err.value) and md5 in str(err.value) and "MD5 is" in str(err.value)
    assert not out.exists() and not list(tmp_path.glob(f"{name}.pt*"))
    assert not list((tmp_path / "raw").glob("*.part"))


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_missing_file_names_file_and_checksum(name, tmp_path, monkeypatch):
    mirror, _ = _fake_idx_dataset(name, tmp_path, monkeypatch, 4)
    fname, md5 = data_sources.DATASETS[name].files["test_labels"]
    (mirror / name / fname).unlink()
    with pytest.raises(data.DataError, match=rf"{name}/{fname} \(expected MD5 {md5}\).*missing"):
        _prepare(name, tmp_path / "m.pt", tmp_path / "raw", str(mirror))
    assert not (tmp_path / "m.pt").exists() and not list(tmp_path.glob("m.pt*"))


def test_unknown_dataset_and_split_are_rejected(tmp_path):
    with pytest.raises(data.DataError, match="unknown dataset 'svhn'"):
        data_sources.get_spec("svhn")
    with pytest.raises(data.DataError, match="unknown split 'random'"):
        data_sources.resolve_split(data_sources.DATASETS["mnist"], "random", [])
    with pytest.raises(data.DataError, match="no source"):
        data_sources.sources([], offline=True)


def test_sources_order_official_last_unless_offline():
    assert data_sources.sources(None) == ["official"]
    assert data_sources.sources("/m") == ["/m", "official"]
    assert data_sources.sources(["/a", "http://h/x"], offline=True) == ["/a", "http://h/x"]
    assert data_sources.sources(["official", "/a"]) == ["official", "/a"]  # an explicit position is kept


@pytest.fixture
def http_mirror(tmp_path):
    """A small HTTP server on localhost serving ``tmp_path / "served"``; started and stopped here."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_sources_are_tried_in_order_with_http_fallback(fake_fashion, http_mirror, tmp_path):
    """A local folder missing one file and holding a corrupt copy of another, then a localhost
    HTTP mirror with good copies: each file comes from the first source with the right MD5, the
    local folder is left as it was, and the log says where each file came from."""
    mirror, arrays = fake_fashion
    served, url = http_mirror
    shutil.copytree(mirror / "fashion_mnist", served / "fashion_mnist")
    spec = data_sources.DATASETS["fashion_mnist"]
    missing, corrupt = spec.files["train_labels"][0], spec.files["test_images"][0]
    (mirror / "fashion_mnist" / missing).unlink()
    bad = (mirror / "fashion_mnist" / corrupt)
    bad.write_bytes(b"not the original")
    out = tmp_path / "fmnist.pt"
    meta, lines = _prepare("fashion_mnist", out, tmp_path / "raw", [str(mirror), url], "official", val=5)
    assert meta["sources"][missing] == f"{url}/fashion_mnist/{missing}"
    assert meta["sources"][corrupt] == f"{url}/fashion_mnist/{corrupt}"
    assert meta["sources"][spec.files["train_images"][0]] == str(mirror / "fashion_mnist" / spec.files["train_images"][0])
    log = "\n".join(map(str, lines))
    assert f"downloaded from {url}/fashion_mnist/{missing}" in log and "missing" in log and "MD5 is" in log
    assert bad.read_bytes() == b"not the original"  # a local source is never modified
    art = data.load_dataset(out)
    assert torch.equal(art["x_test"][:, 0], torch.from_numpy(arrays["test_images"].astype(np.uint8)))
    # a corrupt file on the server too: a clear error naming the file and its MD5, nothing partial
    (served / "fashion_mnist" / corrupt).write_bytes(b"also bad")
    out2 = tmp_path / "again.pt"
    with pytest.raises(data.DataError, match=rf"{corrupt} \(expected MD5 {spec.files['test_images'][1]}\)"):
        _prepare("fashion_mnist", out2, tmp_path / "raw2", [str(mirror), url], "official", val=5)
    assert not list(tmp_path.glob("again.pt*")) and not list((tmp_path / "raw2").glob(f"{corrupt}*"))


def test_official_urls_are_skipped_offline_and_tried_otherwise(fake_mnist, tmp_path):
    mirror, _ = fake_mnist
    (mirror / "mnist" / data_sources.DATASETS["mnist"].files["test_labels"][0]).unlink()
    with pytest.raises(data.DataError) as offline:
        _prepare("mnist", tmp_path / "a.pt", tmp_path / "raw", [str(mirror)], offline=True)
    assert "127.0.0.1:9" not in str(offline.value)
    with pytest.raises(data.DataError) as online:  # the (monkeypatched, unreachable) official URL is tried last
        _prepare("mnist", tmp_path / "b.pt", tmp_path / "raw", [str(mirror)], offline=False)
    assert "http://127.0.0.1:9/" in str(online.value)


def test_loading_only_train_and_val_needs_no_test_split(fake_mnist, tmp_path):
    mirror, _ = fake_mnist
    out = tmp_path / "m.pt"
    _prepare("mnist", out, tmp_path / "raw", str(mirror))
    art = torch.load(out, weights_only=True)
    del art["x_test"], art["y_test"]
    torch.save(art, out)
    assert set(data.load_dataset(out, parts=("train", "val"))) == {"meta", "x_train", "y_train", "x_val", "y_val"}
    with pytest.raises(data.DataError, match="no test split"):
        data.load_dataset(out)


def _mirror_has(name, roles):
    return all((MIRROR / name / data_sources.DATASETS[name].files[r][0]).exists() for r in roles)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_real_mirror_official_split(name, tmp_path):
    """The real mirror's files: MD5-verified, the official 60,000 / 10,000 split, 1,000 validation
    images carved from the end of the training file."""
    if not _mirror_has(name, data_sources.DATASETS[name].files):
        need_mirror(f"{name} files")
    out = tmp_path / f"{name}.pt"
    meta, lines = _prepare(name, out, tmp_path / "raw", [str(MIRROR)], "auto", val=1000)
    art = data.load_dataset(out)
    assert meta["split"] == "official" and meta["counts"] == {"train": 59000, "val": 1000, "test": 10000}
    assert meta["files"] == {f: m for f, m in data_sources.DATASETS[name].files.values()}
    assert all(src.startswith(str(MIRROR)) for src in meta["sources"].values())
    for part in ("train", "val", "test"):
        assert sorted(art[f"y_{part}"].unique().tolist()) == list(range(10))


def test_real_mirror_test_file_split(mnist_test_digits, tmp_path):
    """The test-file split on the real test file (a partial mirror of it, built here)."""
    partial = tmp_path / "partial" / "mnist"
    partial.mkdir(parents=True)
    for role in ("test_images", "test_labels"):
        fname = data_sources.DATASETS["mnist"].files[role][0]
        (partial / fname).symlink_to(MIRROR / "mnist" / fname)
    out = tmp_path / "mnist.pt"
    meta, _ = _prepare("mnist", out, tmp_path / "raw", str(partial.parent), "auto", test_file_train=8000, val=1000)
    art = data.load_dataset(out)
    assert meta["split"] == "test_file"
    assert meta["files"]["t10k-images-idx3-ubyte.gz"] == "9fb629c4189551a2d022fa330f9573f3"
    assert (len(art["x_train"]), len(art["x_val"]), len(art["x_test"])) == (7000, 1000, 2000)
    x, y = mnist_test_digits
    assert torch.equal(art["x_test"].float().div(255), x[8000:])
    assert torch.equal(art["y_train"], y[:7000]) and torch.equal(art["y_val"], y[7000:8000])


def test_dataset_files_are_torchvisions():
    """DATASETS writes out torchvision's file names, MD5s and URLs (so reading them imports no
    torchvision): they must stay torchvision's."""
    import torchvision.datasets as tvd

    for name, cls in (("mnist", tvd.MNIST), ("fashion_mnist", tvd.FashionMNIST)):
        spec = data_sources.DATASETS[name]
        assert list(spec.files.values()) == [tuple(r) for r in cls.resources], name
        assert spec.urls == tuple(cls.mirrors), name
        assert spec.shape == (1, 28, 28)
    cifar = data_sources.DATASETS["cifar10"]
    assert cifar.files == {"archive": (tvd.CIFAR10.filename, tvd.CIFAR10.tgz_md5)}
    assert cifar.urls == (tvd.CIFAR10.url.rsplit("/", 1)[0] + "/",) and cifar.shape == (3, 32, 32)
