from _log import logged
import torch

from advreg.base.progress import format_record
from advreg.jobs.strong import evaluate_strong

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    w, i, p = snakemake.wildcards, snakemake.input, snakemake.params
    m = evaluate_strong(i.model, i.data, i.paper_set, i.paper_json, w.eps, p.ensemble, snakemake.output[0],
                        p.batch_size, p.max_test, p.device, seed=int(w.seed), source=w.source, log=log)
    log(format_record({k: v for k, v in m.items() if k != "robust"}))
