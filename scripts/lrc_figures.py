from _log import logged

from advreg.figures.cells import ACCURACY, COUNT
from advreg.figures.tables import write_table
from advreg.jobs.sgr_analysis import lrc_figures

with logged(snakemake):
    p, o = snakemake.params, snakemake.output
    df = lrc_figures(dict(p.csvs), snakemake.input.data, snakemake.input.model,
                     p.fig_eps, p.sample_zetas, o.csv, o.fig3, o.samples, o.fig4, p.device,
                     sample_model_name=next(iter(p.csvs)))
    write_table(df, html_path=o.html, caption=f"{p.note}LRC sweep, {snakemake.wildcards.dataset}, seed "
                f"{snakemake.wildcards.seed}: every (model, noise, ζ, ε) point",
                kinds={"worst_of_k_acc": ACCURACY, "mean_single_acc": ACCURACY, "k": COUNT, "n": COUNT, "seed": COUNT})
