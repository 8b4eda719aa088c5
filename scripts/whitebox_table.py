from _log import logged
import json


from advreg.figures.tables import write_table
from advreg.jobs.transfer_tables import whitebox_table

with logged(snakemake) as log:
    metrics = [json.load(open(f)) for f in snakemake.input.metrics]
    df = whitebox_table(metrics, snakemake.params.methods).round(3)
    caption = (f"White-box accuracy (%) of every model on {snakemake.wildcards.dataset} "
               f"(seed {snakemake.wildcards.seed}); ε in units of 1/255; DeepFool: robustness ρ. "
               f"Data: {metrics[0]['data']}.")
    write_table(df, snakemake.output.csv, snakemake.output.md, snakemake.output.tex, caption=caption,
                html_path=snakemake.output.html)
    log(df.to_string())
