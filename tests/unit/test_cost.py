"""The cost model (advreg.workflow.cost, benchmarks/cost_model.py): FLOP counts against layer arithmetic,
method steps against the clean step, job counts against Snakemake's plan, tiny sizes only."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from workflow_utils import REPO

from advreg.data.sources import DATASETS
from advreg.workflow import config_check, config_views, cost

MLP = {"arch": "mlp", "in_channels": 1, "image_size": 4, "widths": [8], "num_classes": 10}


def _tiny_config() -> dict:
    return config_check.load([REPO / "config.yaml", REPO / "presets" / "tiny.yaml"])


def test_pass_flops_of_a_linear_layer_chain():
    fwd, fb = cost.pass_flops(MLP)
    # 16 -> 8 -> 10: a matmul of (1×m)·(m×n) is 2mn FLOPs in torch's counter
    assert fwd == pytest.approx(2 * (16 * 8 + 8 * 10))
    # the input gradient needs the backward of each matmul w.r.t. its input (and no weight grads
    # beyond what autograd computes): more than the forward, at most three forwards
    assert fwd < fb <= 3 * fwd


def test_method_steps_cost_what_they_compute():
    config = _tiny_config()
    spec = config_views.model_spec(config, "mnist", "clean")
    clean = cost.step_flops(spec, "clean", config_views.method_cfg(config, "mnist", "clean"), 16)
    pgd_cfg = config_views.method_cfg(config, "mnist", "pgd")
    pgd = cost.step_flops(spec, "pgd", pgd_cfg, 16)
    sgr = cost.step_flops(spec, "sgr_sign", config_views.method_cfg(config, "mnist", "sgr_sign"), 16)
    # PGD augmentation: `steps` input-gradient passes, then the training step on the mixed batch
    assert pgd > (1 + pgd_cfg["steps"] * 0.9) * clean
    # SGR: double backpropagation, so a step costs more than a clean step, less than 5 of them
    assert 1.5 * clean < sgr < 5 * clean
    # FLOPs are linear in the batch
    assert cost.step_flops(spec, "clean", {}, 32) == pytest.approx(2 * clean, rel=1e-6)


def test_training_job_flops_scale_with_epochs_and_data():
    config = _tiny_config()
    w = {"dataset": "mnist", "method": "clean", "seed": "0"}
    base = cost.job_flops("train", w, config)
    more = copy.deepcopy(config)
    more["dataset_settings"]["mnist"]["epochs"] *= 2
    assert cost.job_flops("train", w, more) == pytest.approx(2 * base)
    assert base > 0


def test_training_job_cost_counts_the_images_of_its_split():
    """The cost model trains on what the job does (config_views.training_images): the test-file
    split's training part, not the training file's, and no more than max_train."""
    config = _tiny_config()
    w = {"dataset": "mnist", "method": "clean", "seed": "0"}
    config["dataset_settings"]["mnist"]["batch_size"] = 100

    def per_epoch(split: str, test_file_train: int, max_train=None) -> float:
        c = copy.deepcopy(config)
        c["data"].update(split=split, test_file_train=test_file_train)
        c["data"]["stand_in"]["datasets"] = []
        c["dataset_settings"]["mnist"].update(epochs=1, max_train=max_train)
        return cost.job_flops("train", w, c)

    step = per_epoch("test_file", 2000) - per_epoch("test_file", 1000)  # 10 steps of 100 images
    assert step > 0
    assert per_epoch("test_file", 3000) - per_epoch("test_file", 1000) == pytest.approx(2 * step)
    official = (DATASETS["mnist"].train_images - config["data"]["val"]) / 100  # the training file less validation
    assert per_epoch("official", 1000) - per_epoch("test_file", 1000) == pytest.approx((official - 10) * step / 10)
    assert per_epoch("official", 1000, max_train=2000) == pytest.approx(per_epoch("test_file", 2000))


def test_strong_ensemble_survival_and_queries():
    fb, fwd = 3.0, 1.0
    one = cost._ensemble_flops([{"kind": "apgd_ce", "steps": 10}], fb, fwd)
    # the clean forward; APGD: its accuracy forward, its first gradient and 10 steps; the check
    assert one == pytest.approx(fwd + (fwd + 11 * fb) + fwd)
    two = cost._ensemble_flops([{"kind": "apgd_ce", "steps": 10}, {"kind": "square", "queries": 100}], fb, fwd)
    # Square: its accuracy forward, a first query and 100 more, on the survivors; the check
    assert two - one == pytest.approx(cost.SURVIVE * ((1 + 101) * fwd + fwd))


def test_job_seconds_uses_the_rate_of_its_kind():
    rates = {"train_flops_per_s": 1e9, "attack_flops_per_s": 2e9}
    assert cost.job_seconds("train", 1e9, 2.0, rates) == pytest.approx(3.0)
    assert cost.job_seconds("strong_eval", 1e9, 2.0, rates) == pytest.approx(2.5)
    assert cost.job_seconds("summary", 0.0, 2.0, rates) == pytest.approx(2.0 + cost.SMALL_JOB_S)
    # a measured fixed cost of the rule replaces start-up (it includes it)
    fixed = {**rates, "fixed:train": 0.5, "fixed:summary": 0.25}
    assert cost.job_seconds("train", 1e9, 2.0, fixed) == pytest.approx(1.5)
    assert cost.job_seconds("summary", 0.0, 2.0, fixed) == pytest.approx(0.25)


def test_fixed_cost_is_measured_time_less_compute_per_job():
    measured = {"train": (4, 20.0), "summary": (1, 0.5), "strong_eval": (2, 1.0)}
    compute = {"train": 12.0, "summary": 0.0, "strong_eval": 3.0}
    assert cost.fixed_seconds(measured, compute) == pytest.approx(
        {"fixed:train": 2.0, "fixed:summary": 0.5, "fixed:strong_eval": 0.0})  # never below 0


def test_calibration_measures_positive_rates():
    spec = {**MLP, "image_size": 8, "widths": [32]}
    r = cost.calibrate(spec, batch=16, attack_batch=32, repeats=2,
                       ensemble=[{"kind": "apgd_ce", "steps": 3}, {"kind": "square", "queries": 5}])
    assert r["train_flops_per_s"] > 0 and r["attack_flops_per_s"] > 0 and r["strong_flops_per_s"] > 0


def test_the_strong_calibration_model_cannot_be_broken():
    """Every attack runs all its steps on every image only if none succeeds: the calibration's
    model keeps class 0 whatever the input."""
    from advreg.attacks.strong import strong_attack

    torch.manual_seed(0)
    model = cost._unbreakable(cost.build_from_spec({**MLP, "image_size": 8, "widths": [32]}).eval())
    x = torch.rand(20, 1, 8, 8)
    out = strong_attack(model, x, torch.zeros(20, dtype=torch.long), 0.5,
                        [{"kind": "apgd_ce", "steps": 5}, {"kind": "square", "queries": 10}])
    assert out["robust"].all() and [s["attacked"] for s in out["steps"]] == [20, 20]


def test_flop_counts_share_every_finite_sn_beta():
    """SN's β scales the weights, not the work: one FLOP count serves every finite β, β = ∞ apart."""
    spec = {**MLP, "spectral_norm": {"beta": 2.0, "mode": "operator"}}
    assert cost._flop_key(spec) == cost._flop_key({**spec, "spectral_norm": {"beta": 8.0, "mode": "operator"}})
    assert cost._flop_key(spec) != cost._flop_key({**spec, "spectral_norm": {"beta": math.inf, "mode": "operator"}})


def test_host_and_gpu_memory_are_requested_where_they_are_used():
    """Issue 30: a job's activations count against the host only when it computes on the CPU; on
    a GPU they are device memory (with the CUDA context), a figure of their own per rule."""
    config = _tiny_config()
    w = {"dataset": "mnist", "method": "clean", "seed": "0"}
    base = config["cost"]["base_mem_mb"]
    on_cpu, on_gpu = cost.job_mem_mb("train", w, config), cost.job_mem_mb("train", w, config, on_gpu=True)
    gpu = cost.job_gpu_mem_mb("train", w, config)
    assert on_gpu == base < on_cpu
    assert gpu == pytest.approx(config["cost"]["cuda_context_mb"] + (on_cpu - base), abs=1)
    assert cost.job_mem_mb("train", w, config, attempt=2, on_gpu=True) == 2 * base
    assert cost.job_gpu_mem_mb("whitebox_table", {"dataset": "mnist"}, config) == 0


def test_lrc_job_costs_every_noise_seed_and_its_noise_draws():
    """Issue 42, item 6: each lrc_attack job sweeps the grid once per `lrc.seeds` entry
    (advreg.jobs.sgr_analysis.lrc_attack), so its FLOPs scale with the seeds (the model once
    counted one: the full config's sweep about 5× its prediction), and each forward's noise draw
    (L_C z L_Kᵀ, or the data factor's product) is counted beside the forward."""
    config = _tiny_config()
    config["lrc"].update(models=["clean"], zetas=[1, 2], epsilons=[0.1, 0.3], k=3, max_test=10,
                         data_covariance=False)
    w = {"dataset": "mnist", "seed": "0", "source": "clean"}
    one = copy.deepcopy(config)
    one["lrc"]["seeds"] = [0]
    five = copy.deepcopy(config)
    five["lrc"]["seeds"] = [0, 1, 2, 3, 4]
    assert cost.job_flops("lrc_attack", w, five) == pytest.approx(5 * cost.job_flops("lrc_attack", w, one))
    fwd, _ = cost.pass_flops(config_views.model_spec(config, "mnist", "clean"))
    draws = 2 * 2 * 3 * 10   # ζ × ε × k × images
    noise = 2 * 1 * 784 + 2 * 784 * 784   # MNIST: C = 1, HW = 784
    assert cost.job_flops("lrc_attack", w, one) == pytest.approx(draws * (fwd + noise))
    data = copy.deepcopy(one)
    data["lrc"]["data_covariance"] = True   # one more grid: the data covariance's d × d factor
    assert cost.job_flops("lrc_attack", w, data) == pytest.approx(
        draws * (fwd + noise) + 2 * 3 * 10 * (fwd + 2 * 784 * 784))


def test_every_rule_is_priced_by_its_declaration_and_an_unknown_rule_is_an_error():
    """Issue 42, item 4: one table (advreg.workflow.cost_rules.RULE_COSTS) names each rule's cost
    function or states NO_MODEL; a rule missing from it is an error naming it, never 0 FLOPs."""
    from advreg.workflow import cost_rules

    config = _tiny_config()
    assert cost.job_work("summary", {}, config) == cost.NOTHING
    w = {"dataset": "mnist", "seed": "0", "source": "clean"}
    assert cost.job_work("adversarial_samples", w, config).forward == 2 * config["smoothness"]["samples"]
    with pytest.raises(KeyError, match="no_such_rule.*cost_rules.py"):
        cost.job_flops("no_such_rule", w, config)
    assert cost_rules.undeclared(["train", "all", "no_such_rule"]) == ["no_such_rule"]
    for rule, ref in cost_rules.RULE_COSTS.items():
        assert ref is cost_rules.NO_MODEL or callable(cost.resolve(ref)), rule


def test_sn_evaluation_attacks_with_its_schemes_declared_steps():
    """The evaluate_sn job runs each scheme's own attack (advreg.training.method_kinds.attack_steps):
    ERM one forward per image, FGM one attack step then the adversarial and clean forwards."""
    config = _tiny_config()
    sn = config["sn_experiments"]
    n = sn["train_eval"] + sn["val"] + sn["max_test"]
    erm = cost.job_work("evaluate_sn", {"dataset": "mnist", "method": "clean", "beta": "inf", "seed": "0"}, config)
    fgm = cost.job_work("evaluate_sn", {"dataset": "mnist", "method": "fgm_l2", "beta": "inf", "seed": "0"}, config)
    assert erm.forward == n and fgm.forward == 3 * n
