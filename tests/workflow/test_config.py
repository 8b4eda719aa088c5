"""Bad configuration is rejected before any job runs, with an error naming the bad value."""
from __future__ import annotations

import copy

import pytest
import yaml
from workflow_utils import REPO, copy_workflow, planned_jobs, snakemake_cli, write_config

from advreg.workflow import config_check, config_views


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("wf"))


BAD = [
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
]


@pytest.mark.parametrize("overrides,expected", BAD)
def test_bad_config_is_named_by_the_validation(overrides, expected):
    """Each bad value, through the validation the Snakefile runs before planning (advreg.workflow.config_check
    .validate on config.yaml, the tiny preset and the override, layered as Snakemake layers them)."""
    layers = [yaml.safe_load((REPO / f).read_text()) for f in ("config.yaml", "presets/tiny.yaml")]
    config = config_check.merge(layers + [copy.deepcopy(overrides)])
    with pytest.raises(config_check.ConfigError) as e:
        config_check.validate(config, config_check.load_schema(), layers + [copy.deepcopy(overrides)])
    assert expected in str(e.value)


# through the command line, a schema error and a cross-reference error: Snakemake stops before any
# job and writes nothing (each call pays a Snakemake start-up, so not all of BAD)
@pytest.mark.parametrize("overrides,expected", [BAD[0], BAD[2]])
def test_bad_config_rejected_before_any_job(workdir, overrides, expected):
    cfg = write_config(workdir, overrides, "bad.yaml")
    proc = snakemake_cli(workdir, "--cores", "1", "--configfile", "presets/tiny.yaml", str(cfg), check=False)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    assert not (workdir / "results").exists()  # nothing ran, nothing was written


def test_default_config_is_valid():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config_check.check_config(config)
    assert config["datasets"] == ["mnist", "fashion_mnist", "cifar10"]
    assert config["data"]["split"] == "official"


def test_method_overrides_apply_per_dataset():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["method_overrides"] = {"cifar10": {"wdecay": {"weight_decay": 0.1}}}
    assert config_views.method_cfg(config, "cifar10", "wdecay")["weight_decay"] == 0.1
    assert config_views.method_cfg(config, "mnist", "wdecay")["weight_decay"] == 0.0005


# ----------------------------------------------------------------------------- issue 13: every value
# checked before the first job, every problem in one message naming key path, value and what is allowed

SCHEMA = config_check.load_schema()


def _layers(*overrides: dict) -> tuple[dict, list[dict]]:
    """config.yaml merged with ``overrides`` as Snakemake merges --configfile layers."""
    layers = [yaml.safe_load((REPO / "config.yaml").read_text()), *copy.deepcopy(overrides)]
    return config_check.merge(layers), layers


def _problems(*overrides: dict) -> str:
    config, layers = _layers(*overrides)
    with pytest.raises(config_check.ConfigError) as e:
        config_check.validate(config, SCHEMA, layers)
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
    notes = config_check.validate(config, SCHEMA, layers)
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
    config_check.validate(config, SCHEMA, layers)
    assert config["lrc"]["models"] == ["clean"]


def test_narrowing_through_the_cli_plans_the_run(workdir):
    """The tried override, as a user gives it on the command line: plans without an error."""
    cfg = write_config(workdir, {"methods": ["clean", "sgr_sign"], "attacks": ["pgd"]}, "narrow.yaml")
    proc = snakemake_cli(workdir, "-n", "--cores", "1", "--configfile", "presets/tiny.yaml", str(cfg))
    assert "config: transfer.attacks: narrowed to ['pgd']" in proc.stdout + proc.stderr
    assert "config: lrc.models" not in proc.stdout + proc.stderr  # tiny's lrc.models all remain


def test_nested_config_overrides_on_the_command_line_are_typed(workdir):
    """Snakemake reads a list or mapping given with --config as strings ('0', '2'); the Snakefile
    types them as a config file would, so these plan the run they say (issue 29)."""
    assert config_check.typed_overrides({"seeds": ["0", "1"], "run_name": "x", "dataset_settings": {"mnist": {
        "epochs": "2", "lr": "0.01", "flip": "false", "widths": ["8", "8"]}}}) == {
        "seeds": [0, 1], "run_name": "x", "dataset_settings": {"mnist": {"epochs": 2, "lr": 0.01, "flip": False,
                                                                          "widths": [8, 8]}}}
    jobs = planned_jobs(workdir, [workdir / "presets" / "tiny.yaml"], "--config", "seeds=[0,1]",
                        "dataset_settings={mnist: {epochs: 2}}")
    assert {w["seed"] for rule, w in jobs if rule == "train"} == {"0", "1"}


def _set(path: str, value):
    def apply(c):
        *head, last = path.split(".")
        for k in head:
            c = c[k]
        c[last] = value
    return apply


def _delete(path: str):
    def apply(c):
        *head, last = path.split(".")
        for k in head:
            c = c[k]
        del c[last]
    return apply


# One case per message of advreg.workflow.config_check (the schema's own messages are jsonschema's: a few above).
MESSAGES = [
    (_set("datasets", ["mnist", "svhn"]), "datasets: unknown dataset 'svhn'", False),
    (_delete("dataset_settings.cifar10"), "datasets: 'cifar10' has no entry under dataset_settings", True),
    (_set("dataset_settings.mnist.arch", "resnet"), "dataset_settings.mnist.arch: unknown architecture 'resnet'", True),
    (_set("methods", ["clean", "nope"]), "methods: unknown method 'nope'; expected one of", True),
    (_set("method_overrides.cifar10.nope", {"lam": 1}), "method_overrides.cifar10: unknown method 'nope'", True),
    (_set("method_overrides.cifar10.gn", {"lam": -2}), "method_overrides.cifar10.gn.lam (kind 'gn'): -2 is not allowed", True),
    (_set("method_settings.gn.extra", 1), "method_settings.gn (kind 'gn'): unknown parameter(s) ['extra']", True),
    (_delete("method_settings.fgsm.mix"), "method_settings.fgsm (kind 'fgsm'): missing parameter(s) ['mix']", True),
    (_set("method_settings.fgsm_sgr", {"kind": "sgr", "lam": 1.0, "source": "fgsm", "representation": "full",
                                       "decay": 0.1, "update_every": 1}),
     "method 'fgsm_sgr': source 'fgsm' needs ['eps_255']", True),
    (_set("method_settings.gn_sn.spectral_norm", 1.6), "method_settings.gn_sn.spectral_norm: 1.6; expected {beta", True),
    (_set("attack_settings.fgsm.kind", "cw"), "attack_settings.fgsm: unknown attack kind 'cw'", True),
    (_set("attacks", ["fgsm", "pgd", "zoo"]), "attacks: unknown attack 'zoo'", True),
    (_set("attack_settings.fgm.eps_255", {"mnist": [510]}), "attack_settings.fgm.eps_255 has no strengths for dataset 'fashion_mnist'", True),
    (_set("attack_overrides.cifar10.zoo", {}), "attack_overrides.cifar10: unknown attack 'zoo'", True),
    (_set("transfer.attacks", ["fgsm", "pgd", "fgm2"]), "transfer.attacks: 'fgm2' is not among the attacks run", True),
    (_set("transfer.attacks", ["deepfool"]), "transfer.attacks: 'deepfool' has no strength ε to build matrices for", True),
    (_set("transfer.retrained.mnist", {76.5: {"pgd": "pgd_huge"}}), "transfer.retrained.mnist.76.5: unknown method 'pgd_huge' for row 'pgd'", True),
    (_set("transfer.reference.mnist", {"pgd": {32: "none.csv"}}), "transfer.reference.mnist.pgd.32: no file 'none.csv' in advreg/reference/", True),
    (_set("strong_eval.paper_attack", "deepfool"), "strong_eval.paper_attack: 'deepfool' is not an attack with a strength", True),
    (lambda c: c["evaluation"].update(max_test=100) or c["strong_eval"].update(max_test=200),
     "strong_eval.max_test: 200 images, but the paper attack runs on only evaluation.max_test = 100", True),
    (_set("diagnostics.seeds", [7]), "diagnostics.seeds: seed 7 is not among the run's seeds", True),
    (_delete("diagnostics.eps_255.cifar10"), "diagnostics.eps_255 has no ε sweep for dataset 'cifar10'", True),
    (_set("diagnostics.eps_255.mnist", [8, 16]), "diagnostics.eps_255.mnist: the sweep [8, 16] must contain the paper attack's ε = 32", True),
    (_set("strong_eval.attacks", [{"kind": "apgd_ce", "queries": 10}]), "strong_eval.attacks[0] (apgd_ce): ['queries'] do not apply", True),
    (_set("sn_experiments.val", 6000), "sn_experiments.val: 6000 validation images asked for, but the datasets hold only data.val = 5000", True),
    (lambda c: c.update(datasets=["mnist"]) or c["sn_experiments"].update(datasets=["mnist", "cifar10"]),
     "sn_experiments.datasets: 'cifar10' is not among the run's datasets ['mnist']", True),
    (_delete("sn_experiments.settings.cifar10"), "sn_experiments.datasets: 'cifar10' has no entry under sn_experiments.settings", True),
    (_set("sn_experiments.settings.mnist.arch", "vgg"), "sn_experiments.settings.mnist.arch: unknown architecture 'vgg'", True),
    (_set("sn_experiments.schemes", ["clean", "gn"]), "sn_experiments.schemes: 'gn' is a 'gn' method", True),
    (_set("sn_experiments.schemes", ["wrm_sn"]), "sn_experiments.schemes: 'wrm_sn' already has spectral_norm", True),
    (_set("lrc.models", ["clean", "ghost"]), "lrc.models: 'ghost' is not among the trained methods", True),
    (_set("smoothness.models", ["ghost"]), "smoothness.models: 'ghost' is not among the trained methods", True),
    (_set("structure.model", "ghost"), "structure.model: 'ghost' is not among the trained methods", True),
    (_set("structure.attacks", ["deepfool"]), "structure.attacks: 'deepfool' is not an attack with a strength", True),
    (_set("smoothness.attack", "rand2"), "smoothness.attack: 'rand2' is not an attack with a strength", True),
]


@pytest.mark.parametrize("mutate,expected,through_schema", MESSAGES,
                         ids=[m[1].split(":")[0] + f"-{i}" for i, m in enumerate(MESSAGES)])
def test_each_config_error_message(mutate, expected, through_schema):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    mutate(config)
    if through_schema:  # what a user meets: the whole validation, every problem in one message
        with pytest.raises(config_check.ConfigError) as e:
            config_check.validate(config, SCHEMA, [config])
        msg = str(e.value)
    else:  # the schema's enum rejects it first; the cross-check is the second line of defence
        msg = "\n".join(config_check.config_problems(config))
    assert expected in msg, msg


def test_schema_and_parameter_problems_come_together():
    """A file with a schema error and a bad method value: both in the one message."""
    msg = _problems({"dataset_settings": {"mnist": {"lr": "1e-3"}}, "method_settings": {"gn": {"lam": -1}}})
    assert msg.startswith("2 problems")
    assert "dataset_settings.mnist.lr: '1e-3' is not of type 'number'" in msg and "gn.lam" in msg


def test_auto_split_falling_back_to_the_test_file_is_loud(workdir, tmp_path):
    """split: auto with a mirror that holds only the test files: a console warning before any job
    (not only a line in the prepare_dataset log)."""
    partial = tmp_path / "mirror" / "mnist"
    partial.mkdir(parents=True)
    for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (partial / f).write_bytes(b"")  # only their presence is looked at when planning
    cfg = write_config(workdir, {"data": {"mirror": [str(tmp_path / "mirror")]}}, "partial.yaml")
    proc = snakemake_cli(workdir, "-n", "--cores", "1", "--configfile", "presets/tiny.yaml", str(cfg))
    assert "WARNING: data: mnist will be built with the TEST-FILE split" in proc.stdout + proc.stderr


def test_a_list_narrowed_to_nothing_is_an_error_or_all():
    """Narrowing must not leave a stage with nothing to do, silently: diagnostics.seeds falls back
    to null (every seed of the run); a model list left empty is an error naming it."""
    config, layers = _layers({"seeds": [7]})
    config_check.validate(config, SCHEMA, layers)
    assert config["diagnostics"]["seeds"] is None
    config, layers = _layers({"seeds": [0, 1, 2]}, {"seeds": [5]})
    config["diagnostics"]["seeds"] = [0, 1]
    layers[0]["diagnostics"]["seeds"] = [0, 1]
    config_check.validate(config, SCHEMA, layers)
    assert config["diagnostics"]["seeds"] is None
    msg = _problems({"methods": ["wdecay", "fgsm"], "structure": {"model": "wdecay"}})
    assert "lrc.models: empty" in msg and "smoothness.models: empty" in msg


def test_paper_attack_without_eps_for_a_dataset_is_reported_not_raised():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["attack_settings"]["pgd"]["eps_255"] = {"mnist": [32]}  # a whole dict replaced, not merged
    with pytest.raises(config_check.ConfigError) as e:
        config_check.validate(config, SCHEMA, [config])
    msg = str(e.value)
    assert "attack_settings.pgd.eps_255 has no strengths for dataset 'fashion_mnist'" in msg


def test_an_integer_parameter_must_be_an_integer():
    msg = _problems({"method_settings": {"pgd": {"steps": 40.0}}})
    assert "method_settings.pgd.steps (kind 'pgd'): 40.0 is not allowed; expected an integer ≥ 1" in msg


def test_cuda_numerics_are_checked_against_their_one_declaration():
    """Issue 42: the schema lists no CUDA numerics; the check fills them in from
    advreg.base.cuda_numerics, so an unknown one is refused by name before any job."""
    from advreg.base.cuda_numerics import CUDA_NUMERICS

    raw = yaml.safe_load(config_check.SCHEMA_FILE.read_text())
    assert "enum" not in raw["properties"]["cuda_numerics"]
    assert SCHEMA["properties"]["cuda_numerics"]["enum"] == list(CUDA_NUMERICS) == ["exact", "tf32"]
    assert "'fast' is not one of ['exact', 'tf32']" in _problems({"cuda_numerics": "fast"})
