from _log import logged
import pandas as pd

from advreg.figures.tables import write_table
from advreg.jobs.seeds import grouped_ci
from advreg.stats import fmt_ci

with logged(snakemake) as log:
    i, p = snakemake.input, snakemake.params
    df = pd.concat([pd.read_csv(f) for f in i.tables], ignore_index=True)
    table = grouped_ci(df, p.group_by, p.columns)
    n = int(table["seeds"].max())
    spread = (f"mean ± 95 % t-interval over n = {n} seeds ({', '.join(map(str, p.seeds))})" if n > 1 else
              f"one seed ({p.seeds[0]}): no interval")
    caption = f"{p.note}{p.what}; {snakemake.wildcards.dataset}; {spread}."
    write_table(table.set_index(p.group_by[0]).round(4), snakemake.output.csv)
    shown = table[[*p.group_by, "seeds"]].copy()
    for v in p.columns:
        shown[v] = [fmt_ci(m, h, 2) for m, h in zip(table[v], table[f"{v}_ci95"])]
    write_table(shown.set_index(p.group_by[0]), md_path=snakemake.output.md, caption=caption,
                html_path=snakemake.output.html, html_values=table.set_index(p.group_by[0]))
    log(caption)
    log(shown.to_string())
