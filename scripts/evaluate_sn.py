from _log import logged
import json

import numpy as np
import torch

from advreg.jobs.sn import evaluate_sn_model

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p, o = snakemake.params, snakemake.output
    row, margins = evaluate_sn_model(snakemake.input.model, snakemake.input.data, p.val, p.train_eval,
                                     p.max_test, p.batch_size, p.margin_iters, p.device)
    log(json.dumps(row, indent=1))
    np.save(o.margins, margins)
    with open(o.row, "w") as f:
        json.dump(row, f, indent=1)
