from _log import logged
import torch

from advreg.train import TrainSettings, train

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    train(snakemake.input.data, p.model_spec, snakemake.wildcards.method, p.method_cfg,
          TrainSettings(**p.settings), snakemake.output.model, snakemake.output.history,
          p.checkpoint, device=p.device, log=log)
