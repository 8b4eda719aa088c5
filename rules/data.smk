# Data: fetch the original files (data.mirror's sources in order, then the official URLs unless
# data.offline), verify MD5s, pack one artifact per dataset (train / validation / test). `cache: True` lets several checkouts share it (--cache with
# SNAKEMAKE_OUTPUT_CACHE set, see README).


rule prepare_dataset:
    input:
        code=script_code("prepare_dataset"),
    output:
        PATHS["dataset"],
    log:
        f"{R}/logs/prepare_dataset/{{dataset}}.log",
    cache: True
    conda:
        ENV
    params:
        mirror=config["data"]["mirror"],
        offline=config["data"]["offline"],
        split=config["data"]["split"],
        test_file_train=config["data"]["test_file_train"],
        val=config["data"]["val"],
        stand_in=stand_in_sizes,
        raw_dir=lambda w: path("raw", dataset=w.dataset),
    script:
        "../scripts/prepare_dataset.py"
