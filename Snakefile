# Reproduction pipeline: Roth et al. 2018 (SGR) and Farnia et al. 2019 (spectral normalization).
# `snakemake --cores all` runs the full paper reproduction (config.yaml);
# `snakemake --cores 2 --configfile presets/quick.yaml` the quick preset. See README.md.
from snakemake.utils import min_version, validate

min_version("9.0")

configfile: "config.yaml"


# Validate before any job is planned: the schema (types, ranges, known datasets), then the
# cross-references the schema cannot express (method names/kinds/parameters, architectures).
validate(config, "schemas/config.schema.yaml")

include: "rules/common.smk"

report: "report/workflow.rst"

include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/attack.smk"
include: "rules/strong.smk"
include: "rules/transfer.smk"
include: "rules/seeds.smk"
include: "rules/figures.smk"
include: "rules/sn.smk"
include: "rules/summary.smk"


# Light jobs run where Snakemake runs, never as cluster jobs: downloads (compute nodes are often
# offline), tables and figures from small files.
localrules:
    all,
    prepare_dataset,
    training_curves,
    whitebox_table,
    robustness_table,
    claim_verdicts,
    masking_table,
    paper_comparison,
    whitebox_seeds,
    transfer_seeds,
    lrc_seeds,
    decay_seeds,
    lrc_figures,
    trajectories,
    adversarial_samples,
    sn_results,
    summary,


rule all:
    default_target: True
    input:
        all_targets(),
