from _log import logged

from advreg.jobs.sn_tables import sn_results_job

with logged(snakemake) as log:
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    log(sn_results_job(list(i.rows), list(i.margins), p.schemes, p.betas, p.dataset, p.arch, p.note, p.settings,
                       dict(o.items())))
