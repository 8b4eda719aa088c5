"""The CUDA numerics a run may ask for (config ``cuda_numerics``), declared once: the config check
fills the schema's enum from this table (advreg.workflow.config_check.load_schema) and
advreg.base.device applies each. Torch-free: the config check runs while Snakemake plans."""
from __future__ import annotations

CUDA_NUMERICS = {
    # fp32 everywhere (no TF32 in matmuls or convolutions, which torch 2.14 uses for cuDNN
    # convolutions by default), deterministic cuDNN, no autotuning, deterministic algorithms
    "exact": "fp32, deterministic",
    # TF32 and cuDNN autotuning: faster, not reproducible
    "tf32": "TF32, autotuned",
}
