from _log import logged
import torch

from advreg.base.progress import format_record
from advreg.jobs.masking import diagnose

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    w, i, p = snakemake.wildcards, snakemake.input, snakemake.params
    out = diagnose(i.model, i.data, i.strong, snakemake.output[0], w.eps,
                   p.cfg, p.pgd_cfg, p.batch_size, p.device, seed=int(w.seed), source=w.source)
    log(format_record(out))
