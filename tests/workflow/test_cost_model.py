"""benchmarks/cost_model.py and benchmarks/run_all.py against the workflow: the jobs the cost
model plans are Snakemake's own, every heavy job has a cost, and every benchmark runs from one
entry point on a finished tiny run."""
from __future__ import annotations

import importlib.util
import math

from workflow_utils import REPO, copy_workflow, snakemake_cli

from advreg.workflow import config_check, config_views
from advreg.workflow.cost_rules import NO_MODEL, RULE_COSTS


def _tiny_config() -> dict:
    return config_check.load([REPO / "config.yaml", REPO / "presets" / "tiny.yaml"])


def _driver():
    spec = importlib.util.spec_from_file_location("cost_model", REPO / "benchmarks" / "cost_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_planned_jobs_match_snakemake_and_every_job_has_a_cost():
    drv = _driver()
    jobs = drv.planned_jobs(str(REPO / "presets" / "tiny.yaml"))
    rules = [r for r, _ in jobs]
    config = _tiny_config()
    n_models = len(config_views.trained_methods(config, "mnist"))
    assert rules.count("train") == n_models * len(config["seeds"])
    assert rules.count("strong_eval") == n_models * len(config["seeds"])
    df = drv.predict(config, jobs, startup=1.0, rates={"train_flops_per_s": 1e9, "attack_flops_per_s": 1e9})
    heavy = {r for r, fn in RULE_COSTS.items() if fn is not NO_MODEL}
    assert {"train", "strong_eval", "lrc_attack", "evaluate_sn"} <= heavy
    assert (df[df.rule.isin(heavy)].flops > 0).all(), df[df.flops == 0].rule.unique()
    assert (df[~df.rule.isin(heavy)].flops == 0).all()
    assert set(df.rule) == set(RULE_COSTS), "the tiny preset runs every rule"
    assert not math.isnan(df.seconds.sum())


def test_every_benchmark_runs_from_one_entry_point(tiny_run):
    """benchmarks/run_all.py at tiny sizes on the CPU: one table with a row per measurement."""
    wd, _ = tiny_run
    spec = importlib.util.spec_from_file_location("run_all", REPO / "benchmarks" / "run_all.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    df = mod.main(["--device", "cpu", "--tiny", "--run", str(wd / "results" / "tiny")])
    assert set(df["benchmark"]) == {"methods", "pgd", "flops", "cost model", "strong_eval"}
    assert df["value"].notna().all() and (df["value"] > 0).all()
    ratio = df[df["benchmark"] == "strong_eval"]["value"]
    assert len(ratio) == 2 and ratio.iloc[1] >= ratio.iloc[0]  # worst ≥ mean


def test_a_rule_without_a_cost_declaration_stops_planning(tmp_path):
    """Issue 42, item 4: a rule the cost model has no declaration for (advreg.workflow.cost_rules)
    is an error at planning time that names it and where to declare it, not a job priced at 0."""
    wd = copy_workflow(tmp_path / "wf")
    with open(wd / "rules" / "summary.smk", "a") as f:
        f.write('\n\nrule uncosted_extra:\n    output:\n        "uncosted.txt",\n    shell:\n        "touch {output}"\n')
    proc = snakemake_cli(wd, "-n", "--cores", "1", "--quiet", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr   # Snakemake prints the error where its logger writes
    assert "uncosted_extra" in out and "advreg/workflow/cost_rules.py" in out, out[-2000:]
