"""The cost model counts what the jobs do (issue 42, item 6): the images every job of the
session's tiny run passed through its model's forward, counted by hooks in the jobs themselves
(tests/pass_counting.py, set up by tests/conftest.py), against the passes the cost model
predicts for those jobs (advreg.workflow.cost.job_passes), per rule, within 10 %."""
from __future__ import annotations

import json
from collections import defaultdict

import pytest
from pass_counting import read_counts
from workflow_utils import REPO

from advreg.attacks import kinds as attack_kinds
from advreg.workflow import config_check, cost
from advreg.workflow.cost_rules import RULE_COSTS

TOLERANCE = 0.10


def _record(wd, w: dict, config: dict, folder: str) -> dict:
    """The JSON record a strong_eval (``strong``) or masking_diagnostics (``diagnostics``) job wrote."""
    want = {folder, w["dataset"], f"seed{w['seed']}", f"eps{w['eps']}"}
    [path] = [p for p in (wd / "results" / config["run_name"]).rglob(f"{w['source']}.json")
              if want <= set(p.parts)]
    return json.loads(path.read_text())


def _measured_strong_shares(wd, w: dict, config: dict) -> list[float]:
    """The share of the test images each attack of the strong ensemble ran on, from the job's own
    record (its ``steps``): what the cost model assumes (SURVIVE) and cannot know before the run."""
    rec = _record(wd, w, config, "strong")
    return [s["attacked"] / rec["n"] for s in rec["steps"]][:len(config["strong_eval"]["attacks"])]


def _measured_sweep_shares(wd, w: dict, config: dict) -> list[list[float]]:
    """Per ε of the masking sweep, the share of the images each attack of its ensemble ran on (the
    record's ``sweep[].attacked``): it attacks only the images still robust."""
    rec = _record(wd, w, config, "diagnostics")
    return [[a / rec["n"] for a in point["attacked"]] for point in rec["sweep"]]


def test_each_rule_makes_the_passes_the_cost_model_predicts(tiny_run, pass_counts, monkeypatch):
    wd, configs = tiny_run
    config = config_check.load([REPO / "config.yaml", *configs])
    # What the cost model cannot know before a run, set to what this run did: the tiny preset's
    # weak models are fooled late, so DeepFool runs about all its iterations (max_iter), and the
    # strong ensemble attacks the images its record says it attacked.
    monkeypatch.setattr(attack_kinds, "DEEPFOOL_ITERS", config["attack_settings"]["deepfool"]["max_iter"])
    counted, predicted, jobs = defaultdict(float), defaultdict(float), defaultdict(int)
    for job in read_counts(pass_counts, wd):
        rule, w = job["rule"], job["wildcards"]
        if rule == "strong_eval":
            work = cost.strong_eval_work(w, config, attacked=_measured_strong_shares(wd, w, config))
        elif rule == "masking_diagnostics":
            work = cost.masking_diagnostics_work(w, config, attacked=_measured_sweep_shares(wd, w, config))
        else:
            work = cost.job_work(rule, w, config)
        counted[rule] += job["forward"]
        predicted[rule] += work.forward
        jobs[rule] += 1
    assert set(jobs) == set(RULE_COSTS), f"rules without counted jobs: {set(RULE_COSTS) - set(jobs)}"
    table = "\n".join(f"{r:24s} {jobs[r]:3d} jobs  predicted {predicted[r]:9.0f}  counted {counted[r]:9.0f}"
                      for r in sorted(jobs))
    print("images through the model's forward, per rule:\n" + table)
    off = {r: (predicted[r], counted[r]) for r in jobs
           if predicted[r] != pytest.approx(counted[r], rel=TOLERANCE, abs=0)}
    assert not off, f"predicted vs counted forward images off by more than {TOLERANCE:.0%}: {off}\n{table}"
