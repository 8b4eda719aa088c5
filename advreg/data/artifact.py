"""Datasets as tensors: read the verified original files (advreg.data.sources fetches them),
split them and load the compact artifact (uint8 images + int64 labels: train / validation / test).

The validation split is carved from the *training* file (its last ``val`` images), so every
selection — λ, β*, the training curves — can be made without looking at a test image.
"""
from __future__ import annotations

import gzip
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch

from advreg.data.sources import DataError, DatasetSpec, fetch_file, get_spec, required_roles, resolve_split, sources

PARTS = ("train", "val", "test")


def _tvd():
    """torchvision.datasets, imported on first use: it pulls in torchvision.models and
    torch._dynamo (≈2 s), which every job that only reads a prepared artifact would pay."""
    import torchvision.datasets as tvd
    return tvd


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


def _stand_in_files(spec: DatasetSpec, raw_dir: Path, n_train: int, n_test: int, log) -> tuple[dict, dict, dict]:
    from advreg.data import stand_in
    if spec.fmt != "cifar":
        raise DataError(f"no stand-in exists for {spec.name} (only for the CIFAR-10 format)")
    path, md5s = stand_in.write_cifar_archive(raw_dir, n_train, n_test)
    log(f"{spec.name}: {stand_in.STAND_IN_LABEL}: no local source holds {spec.files['archive'][0]}; "
        f"generated {path.name} ({n_train:,} training + {n_test:,} test images, the official archive layout)")
    arrays = _read_cifar(path, raw_dir, md5s)
    return arrays, {path.name: stand_in.archive_md5(path)}, {path.name: "generated (advreg.data.stand_in)"}


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
        from advreg.data.stand_in import STAND_IN_LABEL
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
    from advreg.data.stand_in import STAND_IN_LABEL
    return f"{STAND_IN_LABEL}: {meta.get('dataset', '')}"


def evaluated_on(meta: dict, n_eval: int, n_train: int | None = None) -> str:
    """A caption's data clause: the split with its counts, and how many images a table used."""
    n = meta.get("counts", {})
    used = (f"evaluated on the first {n_eval:,} of the {n['test']:,} test images"
            if n and n_eval < n["test"] else f"evaluated on all {n_eval:,} test images")
    trained = (f"; models trained on the first {n_train:,} of the {n['train']:,} training images"
               if n and n_train and n_train < n["train"] else "")
    return f"{meta.get('split_description', 'split not recorded')}; {used}{trained}"


def head(data: dict, part: str, n: int | None = None):
    """The first ``n`` images (uint8) and labels of split ``part`` of a loaded dataset artifact
    (all of them when ``n`` is None or 0): every job evaluates on the first images of a split."""
    x, y = data[f"x_{part}"], data[f"y_{part}"]
    return (x[:n], y[:n]) if n else (x, y)


def test_split(dataset_path, device, max_test: int | None = None):
    """The first ``max_test`` test images (uint8) and labels of a dataset artifact, and its meta."""
    data = load_dataset(dataset_path, device, parts=("test",))
    return (*head(data, "test", max_test), data["meta"])
