from _log import logged
import torch

from advreg.jobs.transfer import write_matrix

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    w, p = snakemake.wildcards, snakemake.params
    log(write_matrix(snakemake.input.data, p.files, p.batch_size, p.max_test, p.device,
                     f"{w.dataset}: {w.attack} ε={w.eps}/255 (seed {w.seed})", p.note, dict(snakemake.output.items())))
