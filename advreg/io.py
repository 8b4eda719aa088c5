"""Where a job's tensors live and what it reads: the device choice and the test split, in one place
for every job module (so a job imports neither the training loop nor the table writers for them)."""
from __future__ import annotations

import os

import torch

from advreg.data import load_dataset

# CUDA numerics (config `cuda_numerics`, carried in a job's device setting as "<device>+<numerics>",
# e.g. "auto+exact"): "exact" = fp32 everywhere (no TF32 in matmul or convolutions, which torch 2.14
# uses for cuDNN convolutions by default), deterministic cuDNN, no autotuning, deterministic
# algorithms where torch has them; "tf32" = TF32 and cuDNN autotuning (faster, not reproducible).
# The schema's `cuda_numerics` enum is the one list of the values (the config check reads it).


def apply_cuda_numerics(numerics: str) -> None:
    """Set torch's process-wide CUDA numerics (before the first CUDA kernel runs)."""
    if numerics not in ("exact", "tf32"):
        raise ValueError(f"CUDA numerics {numerics!r}: expected 'exact' or 'tf32' (config cuda_numerics)")
    exact = numerics == "exact"
    precision = "ieee" if exact else "tf32"
    torch.backends.fp32_precision = precision
    torch.backends.cuda.matmul.fp32_precision = precision
    torch.backends.cudnn.conv.fp32_precision = precision
    torch.backends.cudnn.deterministic = exact
    torch.backends.cudnn.benchmark = not exact
    if exact:   # cuBLAS is deterministic only with a fixed workspace (torch's reproducibility notes)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # warn_only: an op without a deterministic CUDA kernel warns in the job log instead of failing
    torch.use_deterministic_algorithms(exact, warn_only=True)


def pick_device(requested: str = "auto") -> torch.device:
    """The job's device from its setting ("auto", "cpu", "cuda:1", optionally "+exact"/"+tf32");
    on CUDA it also applies the CUDA numerics (default exact). The CPU path is untouched."""
    name, _, numerics = str(requested).partition("+")
    if name == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        dev = torch.device(name)
    if dev.type == "cuda":
        apply_cuda_numerics(numerics or "exact")
    return dev


def device_signature(dev: torch.device) -> str:
    """What a checkpoint must have been trained on to resume bit-identically: the device type and,
    on CUDA, the GPU model and the numerics (a SLURM retry on another GPU model starts afresh)."""
    if dev.type != "cuda":
        return dev.type
    precision = torch.backends.cudnn.conv.fp32_precision
    return f"cuda {torch.cuda.get_device_name(dev)}, conv fp32 {precision}, deterministic {torch.backends.cudnn.deterministic}"


def head(data: dict, part: str, n: int | None = None):
    """The first ``n`` images (uint8) and labels of split ``part`` of a loaded dataset artifact
    (all of them when ``n`` is None or 0): every job evaluates on the first images of a split."""
    x, y = data[f"x_{part}"], data[f"y_{part}"]
    return (x[:n], y[:n]) if n else (x, y)


def test_split(dataset_path, device, max_test: int | None = None):
    """The first ``max_test`` test images (uint8) and labels of a dataset artifact, and its meta."""
    data = load_dataset(dataset_path, device, parts=("test",))
    return (*head(data, "test", max_test), data["meta"])
