from _log import logged
import pandas as pd

from advreg.figures.common import training_curves

with logged(snakemake):
    hist = {lab: pd.read_csv(f) for lab, f in snakemake.params.histories.items()}
    training_curves(hist, snakemake.output[0], title=f"{snakemake.wildcards.dataset}: training curves",
                    note=snakemake.params.note)
