from _log import logged
import torch

from advreg.jobs.evaluate import clean_accuracy_job

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p, o = snakemake.params, snakemake.output
    df = clean_accuracy_job(snakemake.input.data, list(snakemake.input.models), p.methods, p.batch_size,
                            snakemake.wildcards.dataset, o.csv, o.md, o.html, p.device, max_test=p.max_test)
    log(df.to_string())
