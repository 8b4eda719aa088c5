from _log import logged

from advreg.jobs.seed_tables import over_seeds_job

with logged(snakemake) as log:
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    log(over_seeds_job(p.tables, i.metrics, f"{p.note}{p.what}, {snakemake.wildcards.dataset}", o.csv, o.md, o.html))
