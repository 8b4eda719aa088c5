from _log import logged
import json

import torch

from advreg.jobs.sn import evaluate_sn_job

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p, o = snakemake.params, snakemake.output
    row = evaluate_sn_job(snakemake.input.model, snakemake.input.data, p.val, p.train_eval, p.max_test,
                          p.batch_size, p.margin_iters, p.device, o.row, o.margins)
    log(json.dumps(row, indent=1))
