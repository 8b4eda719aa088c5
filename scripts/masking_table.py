from _log import logged
import json


from advreg.jobs.masking_tables import write_masking_table

with logged(snakemake) as log:
    o, p = snakemake.output, snakemake.params
    log(write_masking_table([json.load(open(f)) for f in snakemake.input.rows], p.methods, p.matrices, p.tol,
                            p.gap_tol, snakemake.wildcards.dataset, p.note, o.csv, o.md, o.html, o.png))
