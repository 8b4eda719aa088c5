from _log import logged
import pandas as pd

from advreg.jobs.seed_tables import write_grouped

with logged(snakemake) as log:
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    log(write_grouped([pd.read_csv(f) for f in i.tables], p.group_by, p.columns, p.seeds,
                      f"{p.note}{p.what}; {snakemake.wildcards.dataset}", o.csv, o.md, o.html,
                      kinds=dict(p.kinds) if hasattr(p, "kinds") else None))
