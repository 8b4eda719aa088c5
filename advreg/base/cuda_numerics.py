"""The CUDA numerics a run may ask for (config ``cuda_numerics``), declared once with what each sets:
the config check fills the schema's enum from this table (advreg.workflow.config_check.load_schema)
and advreg.base.device applies the settings. Torch-free: the config check runs while Snakemake plans."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Numerics:
    fp32_precision: str   # torch.backends.*.fp32_precision: "ieee" (fp32) or "tf32"
    deterministic: bool   # deterministic cuDNN and torch.use_deterministic_algorithms (warn_only)
    autotune: bool        # cudnn.benchmark


CUDA_NUMERICS = {
    # fp32 everywhere (no TF32 in matmuls or convolutions, which torch 2.14 uses for cuDNN
    # convolutions by default), deterministic cuDNN, no autotuning, deterministic algorithms
    "exact": Numerics("ieee", deterministic=True, autotune=False),
    # TF32 and cuDNN autotuning: faster, not reproducible
    "tf32": Numerics("tf32", deterministic=False, autotune=True),
}
DEFAULT = "exact"   # a device setting without "+<numerics>"
