from _log import logged

from advreg.jobs.masking_tables import masking_job

with logged(snakemake) as log:
    o, p = snakemake.output, snakemake.params
    log(masking_job(list(snakemake.input.rows), p.methods, p.matrices, p.tol, p.gap_tol, snakemake.wildcards.dataset,
                    p.note, o.csv, o.md, o.html, o.png))
