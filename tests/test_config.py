"""Bad configuration is rejected before any job runs, with an error naming the bad value."""
from __future__ import annotations

import copy

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


# ----------------------------------------------------------------------------- issue 13: every value
# checked before the first job, every problem in one message naming key path, value and what is allowed

SCHEMA = advcfg.load_schema()


def _layers(*overrides: dict) -> tuple[dict, list[dict]]:
    """config.yaml merged with ``overrides`` as Snakemake merges --configfile layers."""
    layers = [yaml.safe_load((REPO / "config.yaml").read_text()), *copy.deepcopy(overrides)]
    return advcfg.merge(layers), layers


def _problems(*overrides: dict) -> str:
    config, layers = _layers(*overrides)
    with pytest.raises(advcfg.ConfigError) as e:
        advcfg.validate(config, SCHEMA, layers)
    return str(e.value)


@pytest.mark.parametrize("override,expected", [
    # each silently trained a wrong model, or died inside the job with an error naming no key, before
    ({"method_settings": {"gn": {"lam": -30}}}, "method_settings.gn.lam (kind 'gn'): -30 is not allowed; expected a number ≥ 0"),
    ({"method_settings": {"pgd": {"eps_255": -32}}}, "method_settings.pgd.eps_255 (kind 'pgd'): -32 is not allowed; expected a number > 0"),
    ({"method_settings": {"wdecay": {"weight_decay": "5e-4"}}}, "method_settings.wdecay.weight_decay (kind 'wdecay'): '5e-4' is not allowed; expected a number ≥ 0 (YAML read '5e-4' as a string"),
    ({"method_settings": {"fgsm": {"mix": "0.5"}}}, "method_settings.fgsm.mix (kind 'fgsm'): '0.5' is not allowed; expected a number ≥ 0 and ≤ 1"),
    ({"method_settings": {"gn": {"lam": None}}}, "method_settings.gn.lam (kind 'gn'): None is not allowed"),
    ({"method_settings": {"pgd": {"random_start": 1}}}, "method_settings.pgd.random_start (kind 'pgd'): 1 is not allowed; expected true or false"),
    ({"method_settings": {"pgd": {"steps": 2.5}}}, "method_settings.pgd.steps (kind 'pgd'): 2.5 is not allowed; expected an integer ≥ 1"),
    ({"method_settings": {"gn_sn": {"spectral_norm": {"beta": 0}}}}, "method_settings.gn_sn.spectral_norm.beta: 0 is not allowed; expected a number > 0"),
    ({"method_overrides": {"cifar10": {"pgd": {"steps": 0}}}}, "method_overrides.cifar10.pgd.steps (kind 'pgd'): 0 is not allowed"),
    # passed validation and `-n`, failed only after the model had trained
    ({"attack_settings": {"pgd": {"stpes": 1}}}, "attack_settings.pgd (kind 'pgd'): unknown parameter(s) ['stpes']"),
    ({"attack_settings": {"deepfool": {"max_iter": "50"}}}, "attack_settings.deepfool.max_iter (kind 'deepfool'): '50' is not allowed; expected an integer ≥ 1 (YAML read '50' as a string"),
    ({"attack_overrides": {"cifar10": {"pgd": {"step_size_255": -1}}}}, "attack_overrides.cifar10.pgd.step_size_255 (kind 'pgd'): -1 is not allowed"),
    # a negative ε printed the whole dictionary through a `oneOf` error
    ({"attack_settings": {"pgd": {"eps_255": {"mnist": [-32]}}}}, "attack_settings.pgd.eps_255.mnist[0]: -32 is less than or equal to the minimum of 0"),
    # YAML 1.1 reads 1e-3 as a string
    ({"dataset_settings": {"mnist": {"lr": "1e-3"}}}, "dataset_settings.mnist.lr: '1e-3' is not of type 'number' (YAML read '1e-3' as a string"),
    ({"lrc": {"k": 10, "kk": 1}}, "lrc: Additional properties are not allowed ('kk' was unexpected)"),
])
def test_every_value_is_checked_with_its_key_path(override, expected):
    assert expected in _problems(override)


def test_all_problems_come_in_one_message():
    msg = _problems({"method_settings": {"gn": {"lam": -1}, "fgsm": {"mix": 2}},
                     "attack_settings": {"pgd": {"stpes": 1}}})
    assert msg.startswith("3 problems in the configuration (nothing was run)")
    for part in ("gn.lam", "fgsm.mix", "'stpes'"):
        assert part in msg


def test_narrowing_a_run_needs_one_edit():
    """Before issue 13 this override needed four more edits, one error at a time."""
    config, layers = _layers({"methods": ["clean", "sgr_sign"], "datasets": ["mnist"], "attacks": ["pgd"]})
    notes = advcfg.validate(config, SCHEMA, layers)
    assert config["transfer"]["attacks"] == ["pgd"] and config["structure"]["attacks"] == ["pgd"]
    assert config["lrc"]["models"] == ["clean", "sgr_sign"]
    assert config["smoothness"]["models"] == ["clean", "sgr_sign"]
    assert config["sn_experiments"]["datasets"] == ["mnist"]
    assert any(n.startswith("lrc.models: narrowed to ['clean', 'sgr_sign']") for n in notes)


def test_a_list_the_user_sets_is_not_narrowed():
    """The same layer sets `methods` and an `lrc.models` naming an absent method: an error."""
    msg = _problems({"methods": ["clean", "sgr_sign"], "lrc": {"models": ["clean", "gn"]}})
    assert "lrc.models: 'gn' is not among the trained methods ['clean', 'sgr_sign']" in msg
    # ... while a later layer narrowing `methods` again does narrow the earlier layer's list
    config, layers = _layers({"methods": ["clean", "gn"], "lrc": {"models": ["clean", "gn"]}},
                             {"methods": ["clean"]})
    advcfg.validate(config, SCHEMA, layers)
    assert config["lrc"]["models"] == ["clean"]


def test_narrowing_through_the_cli_plans_the_run(workdir):
    """The tried override, as a user gives it on the command line: plans without an error."""
    cfg = write_config(workdir, {"methods": ["clean", "sgr_sign"], "attacks": ["pgd"]}, "narrow.yaml")
    proc = snakemake_cli(workdir, "-n", "--cores", "1", "--configfile", "presets/tiny.yaml", str(cfg))
    assert "config: transfer.attacks: narrowed to ['pgd']" in proc.stdout + proc.stderr
    assert "config: lrc.models" not in proc.stdout + proc.stderr  # tiny's lrc.models all remain
