import torch
from _log import logged

from advreg.experiments import covariance_structure

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p, o = snakemake.params, snakemake.output
    table = covariance_structure(snakemake.input.data, dict(zip(p.names, snakemake.input.sets)),
                                 p.max_test, p.max_data, p.fraction, o.csv, o.fig2, o.fig5, p.zetas, p.device)
    log(table.to_string())
