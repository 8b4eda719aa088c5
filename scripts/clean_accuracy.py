from _log import logged
import torch

from advreg.jobs.evaluate import clean_accuracy_table
from advreg.figures.tables import write_table
from advreg.jobs.seed_tables import seed_columns_kinds

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    df, data = clean_accuracy_table(snakemake.input.data, list(snakemake.input.models), p.methods, p.batch_size,
                                     p.device, max_test=p.max_test)
    caption = (f"Clean test accuracy (%) on {snakemake.wildcards.dataset} "
               f"({data}).")
    write_table(df, snakemake.output.csv, snakemake.output.md, caption=caption,
                html_path=snakemake.output.html, kinds=seed_columns_kinds(df))
    log(df.to_string())
