from _log import logged
import torch

from advreg.jobs.sgr_analysis import lrc_attack

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p, c = snakemake.params, snakemake.params.lrc
    df = lrc_attack(snakemake.input.model, snakemake.input.data, c["zetas"], c["epsilons"], c["k"],
                    p.batch_size, c["seeds"], c["max_test"], snakemake.input.get("data_noise"),
                    snakemake.output[0], p.device)
    log(df.to_string())
