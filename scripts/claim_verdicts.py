from _log import logged

from advreg.jobs.verdicts import claims_job

with logged(snakemake) as log:
    o, p = snakemake.output, snakemake.params
    table, lines = claims_job(p.files, p.settings, p.references, p.datasets, p.sn_datasets, p.run_name,
                              dict(o.items()), stand_ins=p.stand_ins, rehearsal=p.rehearsal)
    log(table[["dataset", "id", "case", "verdict", "magnitude", "effect_paper_setting", "effect_strong_attack",
               "seeds_to_settle", "regime"]].to_string())
    log(lines[["id", "datasets", "cases", "verdict", "holm", "magnitude", "regime"]].to_string())
