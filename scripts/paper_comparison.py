import json

import pandas as pd
from _log import logged

from advreg.evaluate import write_table
from advreg.transfer import compare_to_paper, load_reference, summary_line

with logged(snakemake) as log:
    w, p = snakemake.wildcards, snakemake.params
    ours = pd.read_csv(snakemake.input.ours, index_col=0)
    table, summary = compare_to_paper(ours, load_reference(p.reference), p.tolerance)
    line = summary_line(f"{w.dataset} {w.attack} ε={w.eps}/255 vs {p.reference}", summary)
    write_table(table.set_index("target_model"), snakemake.output.csv, snakemake.output.md,
                caption=line)
    log(line)
    log(json.dumps(summary))
