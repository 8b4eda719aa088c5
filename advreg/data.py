"""Datasets: fetch the original files from an ordered list of sources, verify every file's MD5,
and write one compact artifact per dataset (uint8 images + int64 labels: train / validation / test).

File names, MD5s and official URLs are torchvision's own (``torchvision.datasets.MNIST.resources``
etc., written out in ``DATASETS`` and checked against torchvision by a test), so a file that passes
here is the file torchvision would have downloaded.

A *source* is a local folder or an http(s)/file URL laid out as ``<source>/<dataset>/<original
file>`` (e.g. ``shared/data/mnist/t10k-images-idx3-ubyte.gz``), or ``official`` (torchvision's
download URLs). ``sources(mirror, offline)`` orders them: the configured mirrors first, the
official URLs last unless the run is offline. A file is taken from the first source that has it
with the right MD5; every source tried, and why it was passed over, is logged.

The validation split is carved from the *training* file (its last ``val`` images), so every
selection — λ, β*, the training curves — can be made without looking at a test image.
"""
from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from advreg.atomic import atomic_path


def _tvd():
    """torchvision.datasets, imported on first use: it pulls in torchvision.models and
    torch._dynamo (≈2 s), which every job that only reads a prepared artifact would pay."""
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
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"), "idx"),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist", (1, 28, 28),
        _idx_files(("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                    "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",), "idx"),
    "cifar10": DatasetSpec(
        "cifar10", (3, 32, 32), {"archive": ("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")},
        ("https://www.cs.toronto.edu/~kriz/",), "cifar"),
}


SPLITS = ("official", "test_file", "auto")
OFFICIAL = "official"  # the source name of torchvision's download URLs
PARTS = ("train", "val", "test")


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}") from None


def _is_url(source: str) -> bool:
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
        if src == OFFICIAL or _is_url(src):
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
        if src == OFFICIAL or _is_url(src):
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
    local = [s for s in srcs if not (s == OFFICIAL or _is_url(s))]
    where = (f"put the original file at {Path(local[0]) / spec.name / fname}" if local else
             f"list a folder holding <folder>/{spec.name}/{fname} under data.mirror")
    raise DataError(f"no source has a good copy of {spec.name}/{fname} (expected MD5 {md5}); "
                    f"tried in order: " + "; ".join(failures) + f". To fix: {where}"
                    + ("" if OFFICIAL in srcs else ", or allow the official download (data.offline: false)")
                    + " and run again")


def _read_idx_gz(path: Path) -> torch.Tensor:
    """Read an IDX file (gzip) with torchvision's own parser."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / path.stem
        with gzip.open(path, "rb") as fin, open(raw, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        return _tvd().mnist.read_sn3_pascalvincent_tensor(str(raw), strict=False)


def _read_cifar(archive: Path, raw_dir: Path, batch_md5s: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """The official archive's pickles through torchvision's reader, which verifies every batch
    file's MD5 first: the official MD5s, or (a stand-in) ``batch_md5s``."""
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(raw_dir, filter="data")
    reader = _tvd().CIFAR10
    if batch_md5s is not None:
        reader = type("StandInCIFAR10", (reader,), {
            "train_list": [[f, batch_md5s[f]] for f, _ in reader.train_list],
            "test_list": [[f, batch_md5s[f]] for f, _ in reader.test_list],
            "meta": {**reader.meta, "md5": batch_md5s["batches.meta"]}})
    out = {}
    for part, train in (("train", True), ("test", False)):
        ds = reader(str(raw_dir), train=train, download=False)
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


def carve_validation(x: torch.Tensor, y: torch.Tensor, val: int, what: str) -> dict[str, torch.Tensor]:
    """The last ``val`` images of a training set become the validation split."""
    if not 0 < val < len(x):
        raise DataError(f"data.val={val} must be between 1 and {len(x) - 1} (the {len(x)} {what})")
    return {"x_train": x[:-val], "y_train": y[:-val], "x_val": x[-val:], "y_val": y[-val:]}


def split_test_file(x: torch.Tensor, y: torch.Tensor, n_train: int, val: int) -> dict[str, torch.Tensor]:
    """Offline split: the first ``n_train`` official test images are the training part (its last
    ``val`` validate), the rest evaluate."""
    if not 0 < n_train < len(x):
        raise DataError(f"data.test_file_train={n_train} must be between 1 and {len(x) - 1}")
    return {**carve_validation(x[:n_train], y[:n_train], val, "training images of the test-file split"),
            "x_test": x[n_train:], "y_test": y[n_train:]}


def _describe(split: str, n: dict[str, int]) -> str:
    if split == "test_file":
        return (f"offline split of the official test file (a mirror without the training file): its "
                f"first {n['train']:,} images train, the next {n['val']:,} validate, the last "
                f"{n['test']:,} are the test set (official training images not used)")
    return (f"official split: {n['train']:,} training images (the training file's first), "
            f"{n['val']:,} validation images (its last), {n['test']:,} test images (the official test file)")


def stand_in_needed(name: str, mirror, offline: bool, allowed) -> bool:
    """Whether a run uses a generated stand-in for ``name`` (advreg.stand_in): the config lists it
    under ``data.stand_in.datasets`` and no local source holds its original files. Decided from
    the config and the local folders alone, before any job starts (the config check requires such a
    run to be offline, so no download could have supplied the originals); a mirror that later holds
    the originals changes this, and with it prepare_dataset's params, so Snakemake rebuilds the
    artifact from the real files."""
    if name not in (allowed or []):
        return False
    spec = get_spec(name)
    local = [s for s in sources(mirror, offline) if not (s == OFFICIAL or _is_url(s))]
    return not any(all((Path(s) / name / spec.files[r][0]).exists() for r in required_roles(spec, "official"))
                   for s in local)


def _stand_in_files(spec: DatasetSpec, raw_dir: Path, n_train: int, n_test: int, log) -> tuple[dict, dict, dict]:
    from advreg import stand_in
    if spec.fmt != "cifar":
        raise DataError(f"no stand-in exists for {spec.name} (only for the CIFAR-10 format)")
    path, md5s = stand_in.write_cifar_archive(raw_dir, n_train, n_test)
    log(f"{spec.name}: {stand_in.STAND_IN_LABEL}: no local source holds {spec.files['archive'][0]}; "
        f"generated {path.name} ({n_train:,} training + {n_test:,} test images, the official archive layout)")
    arrays = _read_cifar(path, raw_dir, md5s)
    return arrays, {path.name: stand_in.archive_md5(path)}, {path.name: "generated (advreg.stand_in)"}


def build_dataset(name: str, raw_dir: str | Path, mirror, split: str, test_file_train: int, val: int,
                  offline: bool = False, log=print, stand_in: dict | None = None) -> tuple[dict, dict]:
    """Fetch and verify one dataset's files and split them: (arrays, meta), nothing written but the
    verified raw files under ``raw_dir`` (advreg.jobs.data packs the artifact). ``stand_in``
    ({train, test} image counts, given only when ``stand_in_needed``) builds a generated stand-in
    instead, marked as one in its meta."""
    spec = get_spec(name)
    srcs = sources(mirror, offline)
    raw_dir = Path(raw_dir)
    if stand_in:
        split, why = "official", "a generated stand-in has the official layout"
        arrays, files, srcs_used = _stand_in_files(spec, raw_dir, stand_in["train"], stand_in["test"], log)
    else:
        split, why = resolve_split(spec, split, srcs)
        fetched = {r: fetch_file(spec, r, raw_dir, srcs, log) for r in required_roles(spec, split)}
        arrays = load_arrays(spec, {r: p for r, (p, _) in fetched.items()}, raw_dir)
        files = {spec.files[r][0]: spec.files[r][1] for r in fetched}
        srcs_used = {spec.files[r][0]: src for r, (_, src) in fetched.items()}
    log(f"{name}: {split} split ({why}); sources in order: {srcs}")
    if split == "test_file":
        arrays = split_test_file(arrays["x_test"], arrays["y_test"], test_file_train, val)
    else:
        arrays = {**carve_validation(arrays["x_train"], arrays["y_train"], val, "official training images"),
                  "x_test": arrays["x_test"], "y_test": arrays["y_test"]}
    for k, v in arrays.items():
        if k.startswith("x_") and tuple(v.shape[1:]) != spec.shape:
            raise DataError(f"{name}: {k} has shape {tuple(v.shape)}, expected (N, {spec.shape})")
    counts = {p: len(arrays[f"y_{p}"]) for p in PARTS}
    described = _describe(split, counts)
    if stand_in:
        from advreg.stand_in import STAND_IN_LABEL
        described = f"{STAND_IN_LABEL}: {described}"
    meta = {"dataset": name, "split": split, "split_description": described, "stand_in": bool(stand_in),
            "counts": counts, "files": files, "sources": srcs_used}
    return arrays, meta


def load_dataset(path: str | Path, device: str | torch.device = "cpu", parts=PARTS) -> dict:
    """Load an artifact's ``parts`` (of train, val, test) and its meta; images stay uint8
    (converted per batch on the device). Selection code asks for train and val only, so it runs
    on an artifact that holds no test images at all."""
    art = torch.load(path, map_location="cpu", weights_only=True)
    out = {"meta": art.get("meta", {})}
    for p in parts:
        if f"x_{p}" not in art:
            raise DataError(f"{path} has no {p} split (keys: {sorted(k for k in art if k != 'meta')}); "
                            f"rebuild it with prepare_dataset")
        out[f"x_{p}"], out[f"y_{p}"] = art[f"x_{p}"].to(device), art[f"y_{p}"].to(device)
    return out


def to_float(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float in [0, 1], the pixel space all attacks and ε live in."""
    return x_uint8.float().div_(255.0)


def stand_in_note(meta: dict) -> str:
    """The label a figure built from this artifact carries: a stand-in's, or nothing."""
    if not meta.get("stand_in"):
        return ""
    from advreg.stand_in import STAND_IN_LABEL
    return f"{STAND_IN_LABEL}: {meta.get('dataset', '')}"


def evaluated_on(meta: dict, n_eval: int, n_train: int | None = None) -> str:
    """A caption's data clause: the split with its counts, and how many images a table used."""
    n = meta.get("counts", {})
    used = (f"evaluated on the first {n_eval:,} of the {n['test']:,} test images"
            if n and n_eval < n["test"] else f"evaluated on all {n_eval:,} test images")
    trained = (f"; models trained on the first {n_train:,} of the {n['train']:,} training images"
               if n and n_train and n_train < n["train"] else "")
    return f"{meta.get('split_description', 'split not recorded')}; {used}{trained}"
