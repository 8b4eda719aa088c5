from _log import logged

from advreg.jobs.data import prepare_dataset

with logged(snakemake) as log:
    p = snakemake.params
    meta = prepare_dataset(snakemake.wildcards.dataset, snakemake.output[0], p.raw_dir, p.mirror,
                           p.split, p.test_file_train, p.val, offline=p.offline, log=log,
                           stand_in=p.stand_in)
    log(f"{meta['dataset']}: {meta['split_description']}")
