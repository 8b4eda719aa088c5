from _log import logged
import torch

from advreg.figures.tables import write_table
from advreg.jobs.sgr_analysis import covariance_structure

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p, o = snakemake.params, snakemake.output
    table = covariance_structure(snakemake.input.data, dict(p.sets),
                                 p.max_test, p.max_data, p.fraction, o.csv, o.fig2, o.fig5, p.zetas, p.device)
    write_table(table, html_path=o.html, caption=f"{p.note}Decay lengths of the perturbations and of the data, "
                f"{snakemake.wildcards.dataset}, seed {snakemake.wildcards.seed}")
    log(table.to_string())
