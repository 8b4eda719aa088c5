from _log import logged

from advreg.jobs.seed_tables import grouped_job

with logged(snakemake) as log:
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    log(grouped_job(list(i.tables), p.group_by, p.columns, p.seeds, f"{p.note}{p.what}; {snakemake.wildcards.dataset}",
                    o.csv, o.md, o.html, kinds=dict(p.kinds) if hasattr(p, "kinds") else None))
