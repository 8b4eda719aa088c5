# Reproduction pipeline: Roth et al. 2018 (SGR) and Farnia et al. 2019 (spectral normalization).
# `snakemake --cores all` runs the full paper reproduction (config.yaml);
# `snakemake --cores 2 --configfile presets/quick.yaml` the quick preset. See README.md.
import os

from snakemake.utils import min_version

from advreg.workflow import config_check

min_version("9.0")


configfile: "config.yaml"


# Validate before any job is planned, and report every problem at once: the schema (types,
# ranges, unknown keys), lists that name the run's methods/attacks/datasets (narrowed when they
# were set before them, e.g. config.yaml's lrc.models under an override of `methods`), the
# cross-references and every method and attack parameter (advreg.workflow.config_check.validate).
# The layers, in the order Snakemake merged them: config.yaml, each --configfile, then --config.
# Extensions first (advreg.workflow.extensions): the methods and attacks they register are checked too.
from advreg.workflow import extensions as _extensions

_extensions.load(config.get("extensions"))
_layers = config_check.read_layers(
    [os.path.join(workflow.basedir, "config.yaml"), *workflow.config_settings.configfiles]
)
_overrides = config_check.typed_overrides(dict(workflow.config_settings.config or {}))
config.update(config_check.merge([config, _overrides]))  # nested --config values typed as in a file
_layers.append(_overrides)
for _note in config_check.validate(config, config_check.load_schema(), _layers):
    logger.info(f"config: {_note}")


include: "rules/common.smk"


# The report's landing page: the summary job's copy of report/workflow.rst with the verdict totals,
# the regime lines and what the run was above it (issue 29); the static page until a run made it.
report: landing_page_source()


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/attack.smk"
include: "rules/strong.smk"
include: "rules/transfer.smk"
include: "rules/seeds.smk"
include: "rules/sgr_analysis.smk"
include: "rules/sn.smk"
include: "rules/summary.smk"


# Light jobs run where Snakemake runs, never as cluster jobs: downloads (compute nodes are often
# offline), tables and figures from small files. A rule that runs a model (its params pass
# `device`) is never here: it takes the `gpu` resource and runs as a job (tests/workflow/test_envs.py).
localrules:
    all,
    prepare_dataset,
    training_curves,
    whitebox_table,
    robustness_table,
    claim_verdicts,
    masking_table,
    paper_comparison,
    transfer_seeds,
    lrc_seeds,
    decay_seeds,
    sn_results,
    summary,


rule all:
    default_target: True
    input:
        all_targets(),


# Every rule declares what its jobs cost (issue 42): advreg.workflow.cost_rules.RULE_COSTS maps it to
# the function of advreg.workflow.cost that counts one job's model passes, or to NO_MODEL. A rule
# without a declaration would be priced at nothing on a cluster: planning stops and names it.
from snakemake.exceptions import WorkflowError

from advreg.workflow import cost_rules as _cost_rules

_cost_problem = _cost_rules.problem(r.name for r in workflow.rules)
if _cost_problem:
    raise WorkflowError(_cost_problem)
