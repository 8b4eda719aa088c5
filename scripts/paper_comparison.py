from _log import logged
import json


from advreg.jobs.seed_tables import paper_comparison_job

with logged(snakemake) as log:
    w, p, o = snakemake.wildcards, snakemake.params, snakemake.output
    line, summary = paper_comparison_job(p.tables, p.reference, p.tolerance, f"{w.dataset} {w.attack} ε={w.eps}/255",
                                         p.note, o.csv, o.md, o.html)
    log(line)
    log(json.dumps(summary))
