from _log import logged
import json

import pandas as pd

from advreg.figures.tables import write_table
from advreg.jobs.seeds import ci_cells, stack, wide

with logged(snakemake) as log:
    i, p = snakemake.input, snakemake.params
    frames = {s: pd.read_csv(f, index_col=0) for s, f in p.tables.items()}   # each table under its seed
    mean, half, n = stack(frames)
    data = json.load(open(i.metrics))["data"]
    spread = (f"mean ± 95 % t-interval over n = {n} seeds ({', '.join(map(str, frames))})" if n > 1 else
              f"one seed ({next(iter(frames))}): no interval")
    caption = f"{p.note}{p.what}, {snakemake.wildcards.dataset}; {spread}. Data: {data}."
    digits = 3 if "deepfool rho" in mean.columns else 1
    write_table(wide(mean, half, n).round(4), snakemake.output.csv)
    shown = ci_cells(mean, half, 1)
    if "deepfool rho" in mean.columns:   # ρ is a ratio, not a percentage
        shown["deepfool rho"] = ci_cells(mean[["deepfool rho"]], half[["deepfool rho"]], digits)["deepfool rho"]
    write_table(shown, md_path=snakemake.output.md, caption=caption, html_path=snakemake.output.html,
                html_values=mean)
    log(caption)
    log(shown.to_string())
