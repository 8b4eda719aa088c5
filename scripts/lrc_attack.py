from _log import logged
import pandas as pd
import torch

from advreg.jobs.sgr_analysis import lrc_attack

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p, c = snakemake.params, snakemake.params.lrc
    frames = [lrc_attack(snakemake.input.model, snakemake.input.data, c["zetas"], c["epsilons"], c["k"],
                         p.batch_size, seed, c["max_test"], c["data_covariance"], p.max_data,
                         snakemake.output[0], p.device) for seed in c["seeds"]]
    df = pd.concat(frames, ignore_index=True)
    df.to_csv(snakemake.output[0], index=False)  # every seed's points (each call wrote its own)
    log(df.to_string())
