from _log import logged
import torch

from advreg.jobs.sgr_analysis import covariance_structure

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p, o = snakemake.params, snakemake.output
    caption = (f"{p.note}Decay lengths of the perturbations and of the data, "
               f"{snakemake.wildcards.dataset}, seed {snakemake.wildcards.seed}")
    table = covariance_structure(snakemake.input.data, dict(p.sets), p.max_test, p.max_data, p.fraction, o.csv,
                                 o.fig2, o.fig5, p.zetas, p.device, html_path=o.html, caption=caption)
    log(table.to_string())
