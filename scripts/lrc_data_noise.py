from _log import logged
import torch

from advreg.jobs.sgr_analysis import data_noise_factor

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    data_noise_factor(snakemake.input.data, snakemake.params.max_data, snakemake.output[0])
    log(f"wrote {snakemake.output[0]}")
