from _log import logged

from advreg.jobs.strong_tables import robustness_job

with logged(snakemake) as log:
    o = snakemake.output
    shown = robustness_job(snakemake.input.rows, snakemake.params.methods, snakemake.wildcards.dataset,
                           snakemake.params.note, o.csv, o.md, o.html, o.rows)
    log(shown.to_string())
