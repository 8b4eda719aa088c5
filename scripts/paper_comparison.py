from _log import logged
import json

import pandas as pd

from advreg.figures.tables import write_table
from advreg.jobs.seed_tables import COMPARISON_KINDS, compare_to_paper, comparison_line, stack
from advreg.jobs.transfer_tables import load_reference

with logged(snakemake) as log:
    w, p = snakemake.wildcards, snakemake.params
    mean, half, n = stack({s: pd.read_csv(f, index_col=0) for s, f in p.tables.items()})
    table, summary = compare_to_paper(mean, half, n, load_reference(p.reference), p.tolerance)
    line = p.note + comparison_line(f"{w.dataset} {w.attack} ε={w.eps}/255 vs {p.reference}", summary)
    write_table(table.set_index("target_model"), snakemake.output.csv, snakemake.output.md,
                caption=line, html_path=snakemake.output.html, kinds=COMPARISON_KINDS)
    log(line)
    log(json.dumps(summary))
