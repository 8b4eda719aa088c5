"""Datasets: fetch the original files (official URLs or a mirror), verify MD5s, and write one
compact artifact per dataset (uint8 images + int64 labels, train/test).

File names, MD5s and official URLs are torchvision's own (``torchvision.datasets.MNIST.resources``
etc.), so a file that passes here is the file torchvision would have downloaded.

A *mirror* is a local folder or an http(s) URL laid out as ``<mirror>/<dataset>/<original file>``
(e.g. ``shared/data/mnist/t10k-images-idx3-ubyte.gz``).
"""
from __future__ import annotations

import functools
import gzip
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


def _tvd():
    """torchvision.datasets, imported on first use: it pulls in torchvision.models and
    torch._dynamo (≈1.3 s), which every job that only reads a prepared artifact would pay."""
    import torchvision.datasets as tvd
    return tvd


class DataError(RuntimeError):
    """A dataset file is missing, corrupt, or the request is inconsistent."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    shape: tuple[int, int, int]  # (C, H, W)
    files: dict[str, tuple[str, str]]  # role -> (file name, md5)
    urls: tuple[str, ...]  # official base URLs, tried in order
    fmt: str  # "idx" (MNIST-style gz) or "cifar" (pickle tarball)


def _idx_spec(name: str, cls) -> DatasetSpec:
    roles = ("train_images", "train_labels", "test_images", "test_labels")
    return DatasetSpec(name, (1, 28, 28), dict(zip(roles, map(tuple, cls.resources))),
                       tuple(cls.mirrors), "idx")


@functools.cache
def _datasets() -> dict[str, DatasetSpec]:
    tvd = _tvd()
    return {
        "mnist": _idx_spec("mnist", tvd.MNIST),
        "fashion_mnist": _idx_spec("fashion_mnist", tvd.FashionMNIST),
        "cifar10": DatasetSpec(
            "cifar10", (3, 32, 32), {"archive": (tvd.CIFAR10.filename, tvd.CIFAR10.tgz_md5)},
            (tvd.CIFAR10.url.rsplit("/", 1)[0] + "/",), "cifar"),
    }


def __getattr__(name: str):
    if name == "DATASETS":  # `from advreg.data import DATASETS` builds the specs on first use
        return _datasets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

SPLITS = ("official", "test_file", "auto")


def get_spec(name: str) -> DatasetSpec:
    try:
        return _datasets()[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; expected one of {sorted(_datasets())}") from None


def _is_url(mirror: str | None) -> bool:
    return bool(mirror) and str(mirror).startswith(("http://", "https://", "file://"))


def required_roles(spec: DatasetSpec, split: str) -> list[str]:
    """Which original files a split needs: the test-file split reads only the test set."""
    if spec.fmt == "cifar":
        return ["archive"]  # one tarball holds both sets
    if split == "test_file":
        return ["test_images", "test_labels"]
    return list(spec.files)


def resolve_split(spec: DatasetSpec, split: str, mirror: str | None) -> str:
    """``auto`` means: the official split when its training images can be had, else the
    test-file split. Only a local mirror can be checked without a download; a URL mirror or
    no mirror means the official files will be downloaded."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {SPLITS}")
    if split != "auto":
        return split
    if mirror and not _is_url(mirror):
        have = all((Path(mirror) / spec.name / spec.files[r][0]).exists()
                   for r in required_roles(spec, "official"))
        return "official" if have else "test_file"
    return "official"


def _check_md5(path: Path, md5: str) -> None:
    from torchvision.datasets.utils import calculate_md5
    got = calculate_md5(str(path))
    if got != md5:
        raise DataError(f"checksum mismatch for {path}: MD5 is {got}, expected {md5} "
                        f"(the official file's checksum); the file is corrupt or not the original")


def fetch_file(spec: DatasetSpec, role: str, raw_dir: Path, mirror: str | None) -> Path:
    """Put one verified original file into ``raw_dir`` and return its path.

    A file already there is reused only if its MD5 matches. A bad download is deleted so a
    re-run starts clean; a bad file in a local mirror is reported, never modified.
    """
    fname, md5 = spec.files[role]
    raw_dir.mkdir(parents=True, exist_ok=True)
    dest = raw_dir / fname
    if dest.exists():
        try:
            _check_md5(dest, md5)
            return dest
        except DataError:
            dest.unlink()
    if mirror and not _is_url(mirror):
        src = Path(mirror) / spec.name / fname
        if not src.exists():
            raise DataError(f"{src} is missing from the data mirror {mirror} "
                            f"(needed: {fname}, MD5 {md5})")
        _check_md5(src, md5)
        tmp = dest.with_suffix(dest.suffix + ".part")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        return dest
    bases = [f"{str(mirror).rstrip('/')}/{spec.name}/"] if mirror else list(spec.urls)
    errors = []
    from torchvision.datasets.utils import download_url
    for base in bases:
        try:
            download_url(base + fname, str(raw_dir), filename=fname, md5=None)
        except Exception as e:  # network errors: try the next official mirror
            errors.append(f"{base}{fname}: {e}")
            continue
        try:
            _check_md5(dest, md5)
        except DataError:
            dest.unlink(missing_ok=True)
            raise
        return dest
    raise DataError(f"could not download {fname} (MD5 {md5}): " + "; ".join(errors))


def _read_idx_gz(path: Path) -> torch.Tensor:
    """Read an IDX file (gzip) with torchvision's own parser."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / path.stem
        with gzip.open(path, "rb") as fin, open(raw, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        return _tvd().mnist.read_sn3_pascalvincent_tensor(str(raw), strict=False)


def _read_cifar(archive: Path, raw_dir: Path) -> dict[str, torch.Tensor]:
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(raw_dir, filter="data")
    out = {}
    for part, train in (("train", True), ("test", False)):
        # CIFAR10(download=False) verifies every batch file's MD5 before reading.
        ds = _tvd().CIFAR10(str(raw_dir), train=train, download=False)
        out[f"x_{part}"] = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))
        out[f"y_{part}"] = torch.tensor(ds.targets, dtype=torch.int64)
    return out


def load_arrays(spec: DatasetSpec, paths: dict[str, Path], raw_dir: Path) -> dict[str, torch.Tensor]:
    if spec.fmt == "cifar":
        return _read_cifar(paths["archive"], raw_dir)
    out = {}
    for part in ("train", "test"):
        if f"{part}_images" in paths:
            out[f"x_{part}"] = _read_idx_gz(paths[f"{part}_images"]).unsqueeze(1).contiguous()
            out[f"y_{part}"] = _read_idx_gz(paths[f"{part}_labels"]).long()
    return out


def split_test_file(x: torch.Tensor, y: torch.Tensor, n_train: int) -> dict[str, torch.Tensor]:
    """Offline split: the first ``n_train`` official test images train, the rest evaluate."""
    if not 0 < n_train < len(x):
        raise DataError(f"test_file_train={n_train} must be between 1 and {len(x) - 1}")
    return {"x_train": x[:n_train], "y_train": y[:n_train],
            "x_test": x[n_train:], "y_test": y[n_train:]}


def prepare_dataset(name: str, out_path: str | Path, raw_dir: str | Path, mirror: str | None,
                    split: str, test_file_train: int) -> dict:
    """Fetch, verify and pack one dataset into ``out_path`` (written atomically)."""
    spec = get_spec(name)
    split = resolve_split(spec, split, mirror)
    raw_dir = Path(raw_dir)
    paths = {r: fetch_file(spec, r, raw_dir, mirror) for r in required_roles(spec, split)}
    arrays = load_arrays(spec, paths, raw_dir)
    if split == "test_file":
        arrays = split_test_file(arrays["x_test"], arrays["y_test"], test_file_train)
        n_test = len(arrays["x_test"])
        description = (f"offline split of the official test file: first {test_file_train} test "
                       f"images train, last {n_test} evaluate (official training images not used)")
    else:
        description = "official train/test split"
    for k, v in arrays.items():
        if k.startswith("x_") and tuple(v.shape[1:]) != spec.shape:
            raise DataError(f"{name}: {k} has shape {tuple(v.shape)}, expected (N, {spec.shape})")
    meta = {"dataset": name, "split": split, "split_description": description,
            "files": {spec.files[r][0]: spec.files[r][1] for r in paths}}
    artifact = {**arrays, "meta": meta}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(out_path.suffix + ".part")
    torch.save(artifact, tmp)
    os.replace(tmp, out_path)  # no partial artifact survives a failure
    return meta


def load_dataset(path: str | Path, device: str | torch.device = "cpu") -> dict:
    """Load an artifact; images stay uint8 (converted per batch on the device)."""
    art = torch.load(path, map_location="cpu", weights_only=True)
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in art.items()}


def to_float(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float in [0, 1], the pixel space all attacks and ε live in."""
    return x_uint8.float().div_(255.0)
