from _log import logged
import pandas as pd

from advreg.jobs.verdicts import claim_records, claims_table, write_claims

with logged(snakemake) as log:
    i, p = snakemake.input, snakemake.params
    records = claim_records(p.datasets, p.seeds, p.sn_datasets, list(i.robustness), list(i.lrc), list(i.decay),
                            list(i.sn_sweep), list(i.sn_generalization), p.references, p.pgd_gap)
    table = claims_table(records)
    write_claims(table, snakemake.output.csv, snakemake.output.md, p.run_name, snakemake.output.html)
    log(table.to_string())
