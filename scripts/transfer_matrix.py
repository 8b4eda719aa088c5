from _log import logged
import json

import torch

from advreg.figures.tables import write_table
from advreg.figures.common import matrix_heatmap
from advreg.jobs.transfer import measure_matrix

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    w, p, i = snakemake.wildcards, snakemake.params, snakemake.input
    f = p.files   # {row label: its model, adversarial set and metrics}: nothing matched by order
    df = measure_matrix(i.data, {k: v["model"] for k, v in f.items()}, {k: v["set"] for k, v in f.items()},
                        {k: v["metrics"] for k, v in f.items()}, p.batch_size, p.max_test, p.device).round(1)
    title = f"{w.dataset}: {w.attack} ε={w.eps}/255 (seed {w.seed})"
    caption = (f"{p.note}{title}. Rows: model attacked; test: clean accuracy; columns: source of the "
               f"adversarial examples; diagonal: white-box, off-diagonal: transfer. Accuracy in %. "
               f"Data: {json.load(open(i.metrics[0]))['data']}.")
    write_table(df, snakemake.output.csv, snakemake.output.md, snakemake.output.tex, caption=caption,
                html_path=snakemake.output.html)
    matrix_heatmap(df, snakemake.output.png, title, note=p.note)
    log(df.to_string())
