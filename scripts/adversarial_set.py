from _log import logged
import torch

from advreg.base.progress import format_record
from advreg.jobs.attack import make_adversarial_set

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    w, p = snakemake.wildcards, snakemake.params
    metrics = make_adversarial_set(snakemake.input.model, snakemake.input.data, w.attack, p.cfg,
                                   w.eps, snakemake.output.adv, snakemake.output.metrics,
                                   p.batch_size, p.max_test, p.device, seed=int(w.seed), source=w.source,
                                   log=log)
    log(format_record(metrics))
