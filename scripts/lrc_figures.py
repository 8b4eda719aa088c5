from _log import logged

from advreg.jobs.sgr_analysis import lrc_figures

with logged(snakemake):
    p, o, w = snakemake.params, snakemake.output, snakemake.wildcards
    lrc_figures(dict(p.csvs), snakemake.input.data, snakemake.input.model, p.fig_eps, p.sample_zetas, o.csv, o.fig3,
                o.samples, o.fig4, p.device, sample_model_name=next(iter(p.csvs)), html_path=o.html,
                caption=f"{p.note}LRC sweep, {w.dataset}, seed {w.seed}: every (model, noise, ζ, ε) point",
                kinds=dict(p.kinds))  # the rule's LRC_KINDS (rules/common.smk), also the lrc_seeds table's
