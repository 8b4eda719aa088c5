from _log import logged
import json

import pandas as pd

from advreg.jobs.seed_tables import write_over_seeds

with logged(snakemake) as log:
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    frames = {s: pd.read_csv(f, index_col=0) for s, f in p.tables.items()}   # each table under its seed
    data = json.load(open(i.metrics))["data"]
    log(write_over_seeds(frames, f"{p.note}{p.what}, {snakemake.wildcards.dataset}", data, o.csv, o.md, o.html))
