from _log import logged

from advreg.jobs.sgr_analysis import adversarial_samples

with logged(snakemake):
    w, p = snakemake.wildcards, snakemake.params
    adversarial_samples(snakemake.input.model, snakemake.input.adv, snakemake.input.data, p.n,
                        snakemake.output[0], f"{w.source}: {p.attack} examples ({w.dataset})", p.device)
