"""A generated stand-in for a dataset whose original files this machine cannot get (CIFAR-10 here):
the official archive's exact layout and shapes, so every job downstream runs the code path the
real data takes, and nothing computed from it can pass for a result.

Only a run that lists the dataset under ``data.stand_in.datasets`` gets one, and only when no local
mirror holds the originals and the run is offline (``advreg.data.sources.stand_in_needed``, decided before
any job starts so every caption can say so). The archive has another file name than the original
(``…STAND-IN.tar.gz``) and its own MD5s, recorded in the dataset artifact's ``meta``; the artifact's
split description opens with ``STAND_IN_LABEL``, which every table caption's data clause repeats.

The images are learnable but not natural: each class is a fixed random low-frequency colour
pattern (4×4 cells upsampled to 32×32) plus per-image noise, so a rehearsal's models train to
above chance and its attacks have something to attack.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from advreg.base.atomic import atomic_path

STAND_IN_LABEL = "SYNTHETIC STAND-IN (generated images in the original's format, not the real dataset)"
# The official archive's layout (torchvision.datasets.CIFAR10.base_folder/train_list/test_list).
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TEST = ["test_batch"]
CIFAR_ARCHIVE = "cifar-10-python.STAND-IN.tar.gz"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_like_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (N, 32, 32, 3) uint8 and labels 0..9 (balanced, shuffled): a class's pattern
    plus Gaussian noise. The class patterns depend on nothing but a fixed seed, so the train and
    test parts share them."""
    patterns = np.random.default_rng(12345).uniform(40, 215, size=(10, 4, 4, 3))
    patterns = patterns.repeat(8, axis=1).repeat(8, axis=2)  # (10, 32, 32, 3)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10)
    x = patterns[labels] + rng.normal(0, 40, size=(n, 32, 32, 3))
    return np.clip(x, 0, 255).astype(np.uint8), labels.astype(np.int64)


def _batch(x: np.ndarray, y: np.ndarray, name: str) -> bytes:
    # The official pickles: "data" is N×3072 uint8, rows in channel-major (R plane, G, B) order.
    data = np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(x), -1))
    return pickle.dumps({"batch_label": name, "labels": y.tolist(), "data": data,
                         "filenames": [f"stand_in_{i}.png" for i in range(len(x))]})


def write_cifar_archive(dest_dir: str | Path, n_train: int, n_test: int) -> tuple[Path, dict[str, str]]:
    """The stand-in archive in ``dest_dir`` (written atomically); returns its path and the MD5 of
    every batch file in it (torchvision's reader checks each against these)."""
    if n_train < len(CIFAR_TRAIN):
        raise ValueError(f"data.stand_in.train={n_train}: at least {len(CIFAR_TRAIN)} images (one per batch file)")
    x_tr, y_tr = cifar_like_images(n_train, seed=1)
    x_te, y_te = cifar_like_images(n_test, seed=2)
    members = {f: _batch(x, y, f) for f, (x, y) in
               zip(CIFAR_TRAIN, zip(np.array_split(x_tr, 5), np.array_split(y_tr, 5)))}
    members[CIFAR_TEST[0]] = _batch(x_te, y_te, CIFAR_TEST[0])
    members["batches.meta"] = pickle.dumps({"label_names": CLASSES, "num_cases_per_batch": n_train // 5,
                                            "num_vis": 3072})
    dest = Path(dest_dir) / CIFAR_ARCHIVE
    dest.parent.mkdir(parents=True, exist_ok=True)
    # gzip's header time fixed at 0 (and tar's member times at 0): the same sizes give the same
    # archive, byte for byte, on every machine.
    with atomic_path(dest) as tmp, gzip.GzipFile(tmp, "wb", compresslevel=1, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(f"{CIFAR_FOLDER}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return dest, {name: hashlib.md5(blob).hexdigest() for name, blob in members.items()}


def archive_md5(path: str | Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()
