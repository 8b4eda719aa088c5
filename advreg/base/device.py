"""Where a job's tensors live: the device choice, the CUDA numerics it applies, and the signature a
checkpoint records of it (one place for every job and the training loop)."""
from __future__ import annotations

import os

import torch

from advreg.base.cuda_numerics import CUDA_NUMERICS, DEFAULT

# CUDA numerics (config `cuda_numerics`, carried in a job's device setting as "<device>+<numerics>",
# e.g. "auto+exact"), each declared in advreg.base.cuda_numerics.


def apply_cuda_numerics(numerics: str) -> None:
    """Set torch's process-wide CUDA numerics (before the first CUDA kernel runs)."""
    if numerics not in CUDA_NUMERICS:
        raise ValueError(f"CUDA numerics {numerics!r}: expected one of {list(CUDA_NUMERICS)} (config cuda_numerics)")
    n = CUDA_NUMERICS[numerics]
    torch.backends.fp32_precision = n.fp32_precision
    torch.backends.cuda.matmul.fp32_precision = n.fp32_precision
    torch.backends.cudnn.conv.fp32_precision = n.fp32_precision
    torch.backends.cudnn.deterministic = n.deterministic
    torch.backends.cudnn.benchmark = n.autotune
    if n.deterministic:   # cuBLAS is deterministic only with a fixed workspace (torch's reproducibility notes)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # warn_only: an op without a deterministic CUDA kernel warns in the job log instead of failing
    torch.use_deterministic_algorithms(n.deterministic, warn_only=True)


def pick_device(requested: str = "auto") -> torch.device:
    """The job's device from its setting ("auto", "cpu", "cuda:1", optionally "+exact"/"+tf32");
    on CUDA it also applies the CUDA numerics (default exact). The CPU path is untouched."""
    name, _, numerics = str(requested).partition("+")
    if name == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        dev = torch.device(name)
    if dev.type == "cuda":
        apply_cuda_numerics(numerics or DEFAULT)
    return dev


def device_signature(dev: torch.device) -> str:
    """What a checkpoint must have been trained on to resume bit-identically: the device type and,
    on CUDA, the GPU model and the numerics (a SLURM retry on another GPU model starts afresh)."""
    if dev.type != "cuda":
        return dev.type
    precision = torch.backends.cudnn.conv.fp32_precision
    return f"cuda {torch.cuda.get_device_name(dev)}, conv fp32 {precision}, deterministic {torch.backends.cudnn.deterministic}"
