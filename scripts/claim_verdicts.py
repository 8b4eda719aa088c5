from _log import logged

from advreg.jobs.verdicts import claim_records, claims_table, write_claims

with logged(snakemake) as log:
    o, p = snakemake.output, snakemake.params
    records, judged = claim_records(p.files, p.settings, p.references, p.datasets, p.sn_datasets,
                                    stand_ins=p.stand_ins, rehearsal=p.rehearsal)
    table = claims_table(records)
    lines = write_claims(table, judged, o.csv, o.md, o.regime, p.run_name, o.html, o.lines, regime_csv=o.regime_csv)
    log(table[["dataset", "id", "case", "verdict", "magnitude", "effect_paper_setting", "effect_strong_attack",
               "seeds_to_settle", "regime"]].to_string())
    log(lines[["id", "datasets", "cases", "verdict", "holm", "magnitude", "regime"]].to_string())
