"""The paper-regime presets (issue 26) plan what they claim, checked on Snakemake's dry run and the
merged config (they are never run in the suite): the SGR Table-1 preset trains the seven models
the Table-1 claims compare at the C&W widths on the official 58,000 / 2,000 split, three seeds,
evaluated on 1,000 official test digits; the SN preset trains the ELU-Net at the paper's sizes over
the paper's six β, ERM and FGM, three seeds, on at least 10,000 digits, 25 epochs with the
authors' stopping rule."""
from __future__ import annotations

from collections import Counter

from workflow_utils import REPO, planned_jobs

from advreg.workflow import config_check, config_views

PAPER_BETAS = {"inf", "1", "2", "4", "8", "16"}


def _load(preset: str) -> dict:
    return config_check.load([REPO / "config.yaml", REPO / "presets" / preset])


def test_sgr_table1_preset_plans_the_papers_regime():
    cfg = _load("paper_mnist.yaml")
    regime = config_views.run_regime(cfg)["datasets"]["mnist"]
    assert regime["widths"] == [32, 32, 64, 64, 200, 200] and regime["training_images"] == 58000
    assert cfg["data"]["split"] == "official" and cfg["data"]["val"] == 2000
    assert cfg["evaluation"]["max_test"] == 1000 and cfg["strong_eval"]["max_test"] == 1000
    jobs = planned_jobs(REPO, [REPO / "presets" / "paper_mnist.yaml"])
    trained = {(w["method"], w["seed"]) for rule, w in jobs if rule == "train"}
    models = {"clean", "wdecay", "fgsm", "pgd", "gn", "sgr_sign", "sgr_grad"}
    assert trained == {(m, s) for m in models for s in ("0", "1", "2")}
    strong = Counter(w["source"] for rule, w in jobs if rule == "strong_eval")
    assert strong == {m: 3 for m in models}                       # PGD-20 checked on every model and seed
    assert {rule for rule, _ in jobs} >= {"transfer_matrix", "claim_verdicts", "summary"}


def test_sn_preset_plans_the_papers_regime():
    cfg = _load("paper_sn_mnist.yaml")
    st = cfg["sn_experiments"]["settings"]["mnist"]
    assert st["arch"] == "elunet" and st["widths"] == [] and st["epochs"] == 25 and st["early_stop_acc"] == 0.999
    assert config_views.run_regime(cfg)["sn"]["mnist"]["training_images"] >= 10000
    jobs = planned_jobs(REPO, [REPO / "presets" / "paper_sn_mnist.yaml"])
    sn = {(w["method"], w["beta"], w["seed"]) for rule, w in jobs if rule == "train_sn"}
    assert sn == {(m, b, s) for m in ("clean", "fgm_l2") for b in PAPER_BETAS for s in ("0", "1", "2")}
