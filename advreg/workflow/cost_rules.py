"""Every rule's cost, declared once (issue 42, item 4): rule name -> the function of
advreg.workflow.cost that counts what one of its jobs computes, as a "module:function" string
(resolved, and torch imported, only when a job is priced), or ``NO_MODEL`` for a rule whose jobs
run no model (tables, figures from small files, downloads: start-up and a second of work).

Torch-free on purpose: the Snakefile checks at planning time that every rule of the workflow is
declared here (``undeclared``), and planning imports no torch. A new rule gets a line here, and,
if its jobs run a model, a function ``(wildcards, config) -> Work`` in advreg.workflow.cost.
"""
from __future__ import annotations

from typing import Iterable

# a rule whose jobs run no model pass (stated, not assumed: an undeclared rule is an error)
NO_MODEL = None

_COST = "advreg.workflow.cost"

RULE_COSTS: dict[str, str | None] = {
    # model passes: advreg.workflow.cost's function of one job
    "train": f"{_COST}:train_work",
    "train_sn": f"{_COST}:train_sn_work",
    "adversarial_set": f"{_COST}:adversarial_set_work",
    "strong_eval": f"{_COST}:strong_eval_work",
    "masking_diagnostics": f"{_COST}:masking_diagnostics_work",
    "transfer_matrix": f"{_COST}:transfer_matrix_work",
    "clean_accuracy": f"{_COST}:clean_accuracy_work",
    "lrc_attack": f"{_COST}:lrc_attack_work",
    "lrc_figures": f"{_COST}:lrc_figures_work",
    "trajectories": f"{_COST}:trajectories_work",
    "adversarial_samples": f"{_COST}:adversarial_samples_work",
    "evaluate_sn": f"{_COST}:evaluate_sn_work",
    # no model pass
    "prepare_dataset": NO_MODEL,          # download or read the mirror, write the artifact
    "perturbation_covariance": NO_MODEL,  # second moments of saved adversarial sets
    "lrc_data_noise": NO_MODEL,           # one eigendecomposition of the data covariance
    "training_curves": NO_MODEL,
    "whitebox_table": NO_MODEL,
    "robustness_table": NO_MODEL,
    "claim_verdicts": NO_MODEL,
    "masking_table": NO_MODEL,
    "transfer_seeds": NO_MODEL,
    "paper_comparison": NO_MODEL,
    "lrc_seeds": NO_MODEL,
    "decay_seeds": NO_MODEL,
    "sn_results": NO_MODEL,
    "summary": NO_MODEL,
}

# rules that are targets only (their jobs run nothing): not priced
TARGET_RULES = ("all",)


def undeclared(rules: Iterable[str]) -> list[str]:
    """The rules among ``rules`` without a cost declaration (target rules aside)."""
    return sorted(r for r in set(rules) if r not in RULE_COSTS and r not in TARGET_RULES)


def problem(rules: Iterable[str]) -> str | None:
    """The planning error for undeclared rules (each named), or None when all are declared."""
    missing = undeclared(rules)
    if not missing:
        return None
    return (f"no cost declared for rule(s) {', '.join(missing)}: add each to RULE_COSTS in "
            f"advreg/workflow/cost_rules.py, as \"advreg.workflow.cost:<function>\" (a function "
            f"(wildcards, config) -> Work counting the model passes of one job) or NO_MODEL for a "
            f"rule whose jobs run no model")
