from _log import logged

from advreg.jobs.sgr_analysis import trajectories

with logged(snakemake):
    p = snakemake.params
    trajectories({m: f["model"] for m, f in p.files.items()}, {m: f["set"] for m, f in p.files.items()},
                 snakemake.input.data, p.examples, p.steps, snakemake.output[0], p.device)
