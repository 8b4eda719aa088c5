from _log import logged
import json

import numpy as np

from advreg.jobs.sn_tables import write_sn_results

with logged(snakemake) as log:
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    log(write_sn_results([json.load(open(f)) for f in i.rows], [np.load(f) for f in i.margins], p.schemes,
                         p.betas, p.dataset, p.arch, p.note, p.settings, dict(o.items())))
