"""Where each dataset's original files come from: their names, MD5s and official URLs, the ordered
sources of a run, the split a run can build, and fetching one verified file.

File names, MD5s and official URLs are torchvision's own (``torchvision.datasets.MNIST.resources``
etc., written out in ``DATASETS`` and checked against torchvision by a test), so a file that passes
here is the file torchvision would have downloaded.

A *source* is a local folder or an http(s)/file URL laid out as ``<source>/<dataset>/<original
file>`` (e.g. ``shared/data/mnist/t10k-images-idx3-ubyte.gz``), or ``official`` (torchvision's
download URLs). ``sources(mirror, offline)`` orders them: the configured mirrors first, the
official URLs last unless the run is offline. A file is taken from the first source that has it
with the right MD5; every source tried, and why it was passed over, is logged.

Torch-free on purpose: the config check and the Snakefile read it while Snakemake parses the
workflow, which should not pay for importing torch (advreg.data.artifact reads the files into tensors).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from advreg.base.atomic import atomic_path


class DataError(RuntimeError):
    """A dataset file is missing, corrupt, or the request is inconsistent."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    shape: tuple[int, int, int]  # (C, H, W)
    files: dict[str, tuple[str, str]]  # role -> (file name, md5)
    urls: tuple[str, ...]  # official base URLs, tried in order
    fmt: str  # "idx" (MNIST-style gz) or "cifar" (pickle tarball)
    # the official training file's size (an artifact records the same in meta["counts"]): what a
    # run trains on is read from the config and this (regime indicators, cost model), no artifact
    train_images: int
    test_images: int = 10000
    classes: int = 10


def _idx_files(md5s: tuple[str, str, str, str]) -> dict[str, tuple[str, str]]:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    roles = ("train_images", "train_labels", "test_images", "test_labels")
    return {r: (n, m) for r, n, m in zip(roles, names, md5s)}


# torchvision's own file names, MD5s and download URLs (MNIST.resources/.mirrors,
# FashionMNIST.resources/.mirrors, CIFAR10.filename/.tgz_md5/.url; tests/unit/test_data.py checks
# they are equal), written out so that reading them costs no torchvision import (≈2 s, paid by
# every Snakemake process that checks the config or announces the split).
DATASETS = {
    "mnist": DatasetSpec(
        "mnist", (1, 28, 28),
        _idx_files(("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                    "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")),
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"), "idx", 60000),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist", (1, 28, 28),
        _idx_files(("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                    "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",), "idx", 60000),
    "cifar10": DatasetSpec(
        "cifar10", (3, 32, 32), {"archive": ("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")},
        ("https://www.cs.toronto.edu/~kriz/",), "cifar", 50000),
}


SPLITS = ("official", "test_file", "auto")
OFFICIAL = "official"  # the source name of torchvision's download URLs


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}") from None


def is_url(source: str) -> bool:
    return str(source).startswith(("http://", "https://", "file://"))


def sources(mirror: str | list[str] | None, offline: bool = False) -> list[str]:
    """The ordered sources of a run: ``data.mirror`` (one entry or a list), then the official
    URLs unless ``offline``."""
    if mirror is None:
        listed = []
    elif isinstance(mirror, (str, os.PathLike)):
        listed = [str(mirror)]
    else:
        listed = [str(m) for m in mirror]
    if not offline and OFFICIAL not in listed:
        listed.append(OFFICIAL)
    if not listed:
        raise DataError("data.mirror is empty and data.offline is true: no source to read the "
                        "dataset files from; list a local folder or URL under data.mirror")
    return listed


def required_roles(spec: DatasetSpec, split: str) -> list[str]:
    """Which original files a split needs: the test-file split reads only the test set."""
    if spec.fmt == "cifar":
        return ["archive"]  # one tarball holds both sets
    if split == "test_file":
        return ["test_images", "test_labels"]
    return list(spec.files)


def resolve_split(spec: DatasetSpec, split: str, srcs: list[str]) -> tuple[str, str]:
    """The split to build and why. ``auto`` means: the official split when its training images
    can be had from some source, else the test-file split. Only a local folder can be checked
    without a download; a URL (or the official URLs) is taken to have every file."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {SPLITS}")
    if split != "auto":
        return split, f"data.split is {split!r}"
    for src in srcs:
        if src == OFFICIAL or is_url(src):
            return "official", f"data.split is 'auto' and {src} can serve the training files"
        if all((Path(src) / spec.name / spec.files[r][0]).exists()
               for r in required_roles(spec, "official")):
            return "official", f"data.split is 'auto' and {src} holds the training files"
    return "test_file", (f"data.split is 'auto' and no source holds {spec.name}'s training files "
                         f"(tried {srcs}): falling back to the official test file")


def _md5_error(path: Path, md5: str) -> str | None:
    from torchvision.datasets.utils import calculate_md5
    got = calculate_md5(str(path))
    return None if got == md5 else f"MD5 is {got}, expected {md5}"


def _download(url: str, dest: Path) -> None:
    """``url`` into ``dest`` through a ``.part`` file, so an interrupted download leaves no file
    with the real name."""
    from torchvision.datasets.utils import download_url
    with atomic_path(dest) as part:
        download_url(url, str(dest.parent), filename=part.name, md5=None)


def fetch_file(spec: DatasetSpec, role: str, raw_dir: Path, srcs: list[str], log=print) -> tuple[Path, str]:
    """Put one verified original file into ``raw_dir``; return its path and the source it came
    from. Sources are tried in order; a missing, unreachable or corrupt copy is logged and the next
    source tried. A file in a local folder is never modified; a bad download is deleted."""
    fname, md5 = spec.files[role]
    raw_dir.mkdir(parents=True, exist_ok=True)
    dest = raw_dir / fname
    if dest.exists():
        if _md5_error(dest, md5) is None:
            log(f"{spec.name}/{fname}: already in {raw_dir} (MD5 {md5} ok)")
            return dest, str(raw_dir)
        dest.unlink()
    failures = []

    def passed_over(why: str) -> None:
        failures.append(why)
        log(f"{spec.name}/{fname}: passed over {why}")

    for src in srcs:
        if src == OFFICIAL or is_url(src):
            bases = list(spec.urls) if src == OFFICIAL else [f"{src.rstrip('/')}/{spec.name}/"]
            for base in bases:
                try:
                    _download(base + fname, dest)
                except Exception as e:  # unreachable, 404, …: try the next source
                    passed_over(f"{base}{fname}: {type(e).__name__}: {e}")
                    continue
                bad = _md5_error(dest, md5)
                if bad is None:
                    log(f"{spec.name}/{fname}: downloaded from {base}{fname} (MD5 {md5} ok)")
                    return dest, base + fname
                dest.unlink()
                passed_over(f"{base}{fname}: {bad}")
        else:
            path = Path(src) / spec.name / fname
            if not path.exists():
                passed_over(f"{path}: missing")
                continue
            bad = _md5_error(path, md5)
            if bad:
                passed_over(f"{path}: {bad} (corrupt or not the original file; left as it is)")
                continue
            with atomic_path(dest) as tmp:
                shutil.copyfile(path, tmp)
            log(f"{spec.name}/{fname}: copied from {path} (MD5 {md5} ok)")
            return dest, str(path)
    local = [s for s in srcs if not (s == OFFICIAL or is_url(s))]
    where = (f"put the original file at {Path(local[0]) / spec.name / fname}" if local else
             f"list a folder holding <folder>/{spec.name}/{fname} under data.mirror")
    raise DataError(f"no source has a good copy of {spec.name}/{fname} (expected MD5 {md5}); "
                    f"tried in order: " + "; ".join(failures) + f". To fix: {where}"
                    + ("" if OFFICIAL in srcs else ", or allow the official download (data.offline: false)")
                    + " and run again")


def stand_in_needed(name: str, mirror, offline: bool, allowed) -> bool:
    """Whether a run uses a generated stand-in for ``name`` (advreg.data.stand_in): the config lists it
    under ``data.stand_in.datasets`` and no local source holds its original files. Decided from
    the config and the local folders alone, before any job starts (the config check requires such a
    run to be offline, so no download could have supplied the originals); a mirror that later holds
    the originals changes this, and with it prepare_dataset's params, so Snakemake rebuilds the
    artifact from the real files."""
    if name not in (allowed or []):
        return False
    spec = get_spec(name)
    local = [s for s in sources(mirror, offline) if not (s == OFFICIAL or is_url(s))]
    return not any(all((Path(s) / name / spec.files[r][0]).exists() for r in required_roles(spec, "official"))
                   for s in local)
