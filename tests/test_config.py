"""Bad configuration is rejected before any job runs, with an error naming the bad value."""
from __future__ import annotations

import pytest
import yaml

from advreg import config as advcfg
from workflow_utils import REPO, copy_workflow, snakemake_cli, write_config


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("wf"))


@pytest.mark.parametrize("overrides,expected", [
    ({"methods": ["clean", "magic"]}, "unknown method 'magic'"),
    ({"dataset_settings": {"mnist": {"epochs": -3}}}, "-3 is less than the minimum of 1"),
    ({"datasets": ["mnist", "imagenet"]}, "'imagenet' is not one of"),
    ({"method_settings": {"wdecay": {"weight_decay": 1e-4, "momentum": 0.9}}}, "unknown parameter(s) ['momentum']"),
    ({"method_settings": {"clean": {"kind": "dropout"}}}, "unknown kind 'dropout'"),
    ({"sn_experiments": {"schemes": ["clean", "sgr_sign"]}}, "'sgr_sign' is a 'sgr' method"),
    ({"sn_experiments": {"schemes": ["fgm_l2_sn"]}}, "'fgm_l2_sn' already has spectral_norm"),
    ({"sn_experiments": {"settings": {"mnist": {"arch": "vgg"}}}}, "unknown architecture 'vgg'"),
    ({"sn_experiments": {"settings": {"mnist": {"betas": [2.0, -1]}}}}, "-1 is less than or equal to the minimum of 0"),
    ({"sn_experiments": {"datasets": ["cifar10"]}}, "'cifar10' is not among the run's datasets"),
    ({"lrc": {"models": ["clean", "gn"]}}, "lrc.models: 'gn' is not among the trained methods"),
    ({"strong_eval": {"paper_attack": "fgm"}}, "strong_eval.paper_attack: 'fgm' is not an attack"),
    ({"strong_eval": {"max_test": 600}}, "strong_eval.max_test: 600 images, but the paper attack runs on only"),
    ({"strong_eval": {"attacks": [{"kind": "square", "steps": 10}]}}, "strong_eval.attacks[0] (square): ['steps'] do not apply"),
    ({"strong_eval": {"attacks": [{"kind": "apgd_x"}]}}, "'apgd_x' is not one of"),
])
def test_bad_config_rejected_before_any_job(workdir, overrides, expected):
    cfg = write_config(workdir, overrides, "bad.yaml")
    proc = snakemake_cli(workdir, "--cores", "1", "--configfile", "presets/tiny.yaml", str(cfg), check=False)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    assert not (workdir / "results").exists()  # nothing ran, nothing was written


def test_default_config_is_valid():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    advcfg.check_config(config)
    assert config["datasets"] == ["mnist", "fashion_mnist", "cifar10"]
    assert config["data"]["split"] == "official"


def test_method_overrides_apply_per_dataset():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["method_overrides"] = {"cifar10": {"wdecay": {"weight_decay": 0.1}}}
    assert advcfg.method_cfg(config, "cifar10", "wdecay")["weight_decay"] == 0.1
    assert advcfg.method_cfg(config, "mnist", "wdecay")["weight_decay"] == 0.0005
