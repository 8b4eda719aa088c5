"""Incremental re-runs: after ONE completed tiny run, dry-run plans show that a change re-plans
exactly the jobs it affects (docs/running.md "Incremental re-runs"). Only dry runs after the real run."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from workflow_utils import REPO, planned_jobs, snakemake_cli, write_config

from advreg.workflow import config_check, config_views

pytestmark = pytest.mark.pipeline

TINY = yaml.safe_load((REPO / "presets" / "tiny.yaml").read_text())
METHODS = TINY["methods"]  # clean, wdecay, pgd, sgr_sign


def _jobs(jobs, rule):
    return [w for r, w in jobs if r == rule]


def _rule_names(wd: Path) -> set[str]:
    names = set()
    for f in [wd / "Snakefile", *sorted((wd / "rules").glob("*.smk"))]:
        for line in f.read_text().splitlines():
            if line.startswith("rule "):
                names.add(line.split()[1].rstrip(":"))
    return names


def _merged_config(wd: Path, configs: list[Path]) -> dict:
    """config.yaml merged with the given files the way --configfile does (dicts key by key)."""
    return config_check.merge(config_check.read_layers([wd / "config.yaml", *configs]))


def test_noop_plans_nothing(tiny_run):
    wd, configs = tiny_run
    out = snakemake_cli(wd, "-n", "--cores", "1", "--configfile", *map(str, configs)).stdout
    assert "Nothing to be done" in out
    # restating a value that is already in effect is no change either
    same = write_config(wd, {"method_settings": {"wdecay": {"weight_decay": 0.0005}},
                             "attack_settings": {"fgsm": {"eps_255": {"mnist": [32]}}}}, "same.yaml")
    assert planned_jobs(wd, configs + [same]) == []


def test_method_hyperparameter_replans_only_that_method(tiny_run):
    wd, configs = tiny_run
    change = write_config(wd, {"method_settings": {"wdecay": {"weight_decay": 0.01}}}, "wdecay.yaml")
    jobs = planned_jobs(wd, configs + [change])
    assert _jobs(jobs, "train") == [{"dataset": "mnist", "method": "wdecay", "seed": "0"}]
    adv = _jobs(jobs, "adversarial_set")
    assert {w["source"] for w in adv} == {"wdecay"}
    # every attack set of wdecay, one per (attack, ε), and no other method's
    config = _merged_config(wd, configs)
    assert sorted((w["attack"], w["eps"]) for w in adv) == sorted(
        (a, e) for a in TINY["attacks"] for e in config_views.attack_eps(config, "mnist", a))
    # the tables, matrices and figures wdecay enters, each once
    matrices = sorted((w["attack"], w["eps"]) for w in _jobs(jobs, "transfer_matrix"))
    assert matrices == sorted((a, e) for a in config["transfer"]["attacks"] for e in config_views.attack_eps(config, "mnist", a))
    assert sorted(r for r, _ in jobs if r not in ("train", "adversarial_set", "transfer_matrix")) == sorted(
        ["clean_accuracy", "training_curves", "whitebox_table", "paper_comparison",
         *["transfer_seeds"] * len(matrices), "strong_eval",
         "robustness_table", "masking_diagnostics", "masking_table", "claim_verdicts", "summary", "all"])
    assert {w["source"] for r, w in jobs if r in ("strong_eval", "masking_diagnostics")} == {"wdecay"}
    assert not _jobs(jobs, "prepare_dataset")


def test_editing_a_figure_script_replans_only_that_figure(tiny_run):
    wd, configs = tiny_run
    script = wd / "scripts" / "plot_training_curves.py"
    original, st = script.read_text(), script.stat()
    try:
        script.write_text(original + "# edited by test_incremental\n")
        jobs = planned_jobs(wd, configs)
    finally:  # restore content and mtime: the next tests share this run
        script.write_text(original)
        os.utime(script, ns=(st.st_atime_ns, st.st_mtime_ns))
    expected = {"training_curves", "all"}
    if "summary" in _rule_names(wd):  # a summary/report rule that consumes the figure re-runs too
        forced = {r for r, _ in planned_jobs(wd, configs, "--forcerun", "training_curves")}
        expected |= forced & {"summary"}
    assert sorted(r for r, _ in jobs) == sorted(expected)
    assert _jobs(jobs, "training_curves") == [{"dataset": "mnist"}]
    assert planned_jobs(wd, configs) == []  # restored: nothing to do again


def test_adding_an_attack_eps_adds_only_its_jobs(tiny_run):
    wd, configs = tiny_run
    change = write_config(wd, {"attack_settings": {"fgsm": {"eps_255": {"mnist": [32, 64]}}}}, "eps.yaml")
    jobs = planned_jobs(wd, configs + [change])
    adv64 = [w for w in _jobs(jobs, "adversarial_set") if w["eps"] == "64"]
    assert sorted(w["source"] for w in adv64) == sorted(METHODS)
    assert {w["attack"] for w in adv64} == {"fgsm"}
    assert {(w["attack"], w["eps"]) for w in _jobs(jobs, "transfer_matrix")} >= {("fgsm", "64")}
    assert _jobs(jobs, "whitebox_table") == [{"dataset": "mnist"}]  # gains a column (all seeds' tables: one job)
    assert not _jobs(jobs, "train") and not _jobs(jobs, "prepare_dataset")


def test_adding_an_attack_eps_replans_nothing_of_the_old_eps(tiny_run):
    wd, configs = tiny_run
    change = write_config(wd, {"attack_settings": {"fgsm": {"eps_255": {"mnist": [32, 64]}}}}, "eps.yaml")
    jobs = planned_jobs(wd, configs + [change])
    assert [(r, w) for r, w in jobs if w.get("eps") == "32"] == []
    assert sorted(r for r, _ in jobs) == sorted(
        ["adversarial_set"] * len(METHODS) + ["transfer_matrix", "whitebox_table", "transfer_seeds",
         "summary", "all"])
