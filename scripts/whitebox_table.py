from _log import logged

from advreg.jobs.whitebox_tables import whitebox_job

with logged(snakemake) as log:
    o, p = snakemake.output, snakemake.params
    log(whitebox_job(list(snakemake.input.metrics), p.methods, p.seed_files, {"csv": o.csv, "md": o.md, "html": o.html},
                     p.note, snakemake.wildcards.dataset))
