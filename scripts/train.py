from _log import logged
import torch

from advreg.jobs.train import train_job

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p, o = snakemake.params, snakemake.output
    train_job(snakemake.input.data, p.model_spec, snakemake.wildcards.method, p.method_cfg, p.settings,
              o.model, o.history, p.checkpoint, p.device, log)
