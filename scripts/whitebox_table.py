from _log import logged
import json


from advreg.jobs.whitebox_tables import write_whitebox_tables

with logged(snakemake) as log:
    o, p = snakemake.output, snakemake.params
    metrics = [json.load(open(f)) for f in snakemake.input.metrics]
    log(write_whitebox_tables(metrics, p.methods, p.seed_files, {"csv": o.csv, "md": o.md, "html": o.html},
                              p.note, snakemake.wildcards.dataset))
