from _log import logged

from advreg.jobs.sgr_analysis import trajectories

with logged(snakemake):
    p = snakemake.params
    trajectories(dict(zip(p.names, snakemake.input.models)), dict(zip(p.names, snakemake.input.sets)),
                 snakemake.input.data, p.examples, p.steps, snakemake.output[0], p.device)
