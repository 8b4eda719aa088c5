from _log import logged

from advreg.jobs.curves import training_curves_job

with logged(snakemake):
    training_curves_job(dict(snakemake.params.histories), snakemake.output[0], snakemake.wildcards.dataset,
                        note=snakemake.params.note)
