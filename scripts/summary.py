from _log import logged

from advreg.jobs.summary import summary_job

with logged(snakemake):
    summary_job(dict(snakemake.input.items()), dict(snakemake.params.items()), dict(snakemake.output.items()))
