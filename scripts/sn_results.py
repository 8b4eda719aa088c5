from _log import logged
import json
from importlib import resources

import numpy as np
import pandas as pd

from advreg.figures.tables import write_table
from advreg.jobs.sn_tables import best_beta, sweep_table, with_published
from advreg.jobs.seeds import sn_best_ci
from advreg.jobs.verdicts import sn_regime_text
from advreg.figures.sn import beta_sweep_figure, gap_figure, margins_figure

with logged(snakemake) as log:
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    rows = [json.load(open(f)) for f in i.rows]
    margins = [np.load(f) for f in i.margins]
    df = sweep_table(rows, p.schemes, p.betas)
    write_table(df.set_index(["scheme", "beta", "seed"]).round(6), o.sweep, html_path=o.sweep_html,
                caption=f"{p.note}SN β sweep, {p.dataset} / {p.arch}: every (scheme, β, seed)")
    reference = pd.read_csv(resources.files("advreg") / "reference" / "sn_table.csv", dtype={"beta_star": str})
    best = with_published(sn_best_ci(df, best_beta(df)), reference, p.dataset, p.arch)
    caption = (f"{p.note}SN generalization gap, {p.dataset} / {p.arch}: accuracy under each scheme's training attack "
               f"(ERM: clean), β = ∞ (no SN) vs the validation-selected β*; paper_*: Farnia et al. 2019 for "
               f"the same dataset/architecture where published; *_ci95: half-width of the 95 % t-interval over the "
               f"{int(best['seeds'].max()) if 'seeds' in best else 1} seeds (empty: one seed); "
               f"{rows[0]['n_train']} training, {rows[0]['n_val']} validation, {rows[0]['n_test']} test images")
    write_table(best.set_index("scheme").round(4), o.csv, o.md, caption=caption, html_path=o.html)
    log(best.to_string())
    regime = sn_regime_text(o.sweep, o.csv, p.settings, p.dataset)
    log(f"regime: {regime}")
    gap_figure(best, o.gap, title=f"{p.dataset} / {p.arch}", note=p.note, regime=regime)
    beta_sweep_figure(df, o.sweep_fig, title=f"{p.dataset} / {p.arch}", note=p.note)
    margins_figure(rows, margins, best, o.margins_fig, title=f"{p.dataset} / {p.arch}: training-set margins", note=p.note)
