"""No Python in the report's info panels (issue 41): the HTML report shows each result's rule params
as `snakemake.logging.format_dict(job.params)`, i.e. `f"{name}={value}"`. Every params value of a
rule with a report output prints as plain text (advreg.base.params_text), while the job's script and
Snakemake's params rerun trigger see the values they saw before.

The params are those the workflow plans (an in-process dry run of the default config and of the
tiny and rehearsal presets), so a report rule added or changed without the wrapper fails here."""
from __future__ import annotations

import math
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_utils import REPO, python_left

# Python that must not be left in a param's text: a list/dict repr, None, a bool, inf or nan the
# Python way, a float with a needless ".0".
NOT_TEXT = re.compile(r"[\[\]{}]|\bNone\b|\bTrue\b|\bFalse\b|(?<![\w.-])-?inf\b|\bnan\b|(?<![\w.])\d+\.0\b")
PLAIN_TYPES = (type(None), bool, int, float, str, list, dict)
CONFIGS = {"paper": [], "tiny": ["presets/tiny.yaml"], "rehearsal": ["presets/rehearsal.yaml"]}


def _plan(workdir: Path, configfiles: list[str]):
    """The config and the jobs of every rule with a report output, as a forced dry run plans them."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    cwd = os.getcwd()
    try:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            wf = api.workflow(resource_settings=ResourceSettings(cores=1),
                              config_settings=ConfigSettings(
                                  configfiles=[REPO / "config.yaml", *(REPO / c for c in configfiles)]),
                              snakefile=REPO / "Snakefile", workdir=workdir)
            wf.dag(dag_settings=DAGSettings(forceall=True))
            w = wf._workflow
            w._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True, nolock=True)
            w._build_dag()
            jobs = [j for j in w.dag.jobs if any(f.flags.get("report") for f in j.rule.output)]
            return dict(w.config), jobs
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def planned(request, tmp_path_factory):
    config, jobs = _plan(tmp_path_factory.mktemp(request.param), CONFIGS[request.param])
    assert config["run_name"] == request.param   # each plan is of its own config
    return request.param, config, jobs


def _types(value):
    """Every type in a (nested) value."""
    yield type(value)
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _types(k)
            yield from _types(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _types(v)


def test_every_report_rule_prints_its_params_as_text(planned):
    name, _, jobs = planned
    rules = {j.rule.name for j in jobs}
    # the report rules of issue 41 (a rule with a report output that is missing here: not planned)
    assert {"whitebox_table", "clean_accuracy", "training_curves", "transfer_seeds", "paper_comparison",
            "lrc_seeds", "decay_seeds", "perturbation_covariance", "lrc_figures", "trajectories",
            "adversarial_samples", "sn_results", "robustness_table", "claim_verdicts", "masking_table",
            "summary", "transfer_matrix"} <= rules, rules
    from snakemake.logging import format_dict

    bad = {}
    for job in jobs:
        panel = format_dict(job.params)                       # what the report's info panel shows
        left = python_left(panel)
        for key, value in job.params.items():
            if not isinstance(value, str):                    # a str param is text already (prose)
                left += [f"{key}={m}" for m in NOT_TEXT.findall(f"{value}")]
        if left:
            bad.setdefault(job.rule.name, (left, panel[:400]))
    assert not bad, (name, bad)


def test_scripts_receive_the_values_they_did(planned):
    """Snakemake pickles a job's params into its script: the script gets the plain built-ins (a list
    stays a list, None stays None), with the repr Snakemake's params rerun trigger records."""
    from snakemake.persistence import PersistenceBase

    name, config, jobs = planned
    serialize = PersistenceBase._serialize_param_builtin
    checked = 0
    for job in jobs:
        for key, value in job.params.items():
            got = pickle.loads(pickle.dumps(value, protocol=4))
            assert set(_types(got)) <= set(PLAIN_TYPES), (job.rule.name, key, set(_types(got)))
            assert repr(got) == repr(value), (job.rule.name, key)     # the same record: no rerun
            assert serialize(None, got) == serialize(None, value), (job.rule.name, key)
            if got is not None:
                assert got == value and isinstance(value, type(got)) or isinstance(got, bool), (job.rule.name, key)
            checked += 1
    assert checked > 50

    ev = config["evaluation"]
    expect = {
        ("clean_accuracy", "methods"): config["methods"],
        ("clean_accuracy", "seeds"): config["seeds"],
        ("clean_accuracy", "max_test"): ev["clean_max_test"],
        ("transfer_matrix", "max_test"): ev["max_test"],
        ("perturbation_covariance", "max_test"): ev["max_test"],
        ("perturbation_covariance", "fraction"): config["structure"]["fraction"],
        ("lrc_figures", "sample_zetas"): config["lrc"]["sample_zetas"],
        ("summary", "rehearsal"): config["rehearsal"],
        ("claim_verdicts", "rehearsal"): config["rehearsal"],
        ("claim_verdicts", "datasets"): config["datasets"],
        ("sn_results", "schemes"): config["sn_experiments"]["schemes"],
        ("paper_comparison", "tolerance"): config["transfer"]["tolerance"],
    }
    seen = set()
    for job in jobs:
        for (rule, key), want in expect.items():
            if job.rule.name == rule:
                got = pickle.loads(pickle.dumps(job.params[key], protocol=4))
                assert type(got) is type(want) and got == want, (name, rule, key, got, want)
                seen.add((rule, key))
    assert seen == set(expect), set(expect) - seen
    if name == "paper":   # the default config cuts nothing: None, which the jobs read as "all"
        assert ev["max_test"] is None and ev["clean_max_test"] is None


def test_a_script_unpickles_plain_values_without_advreg(planned):
    """The script preamble's path: a `snakemake` object pickled (protocol 4) and loaded in a fresh
    interpreter, where no wrapper class is imported and each value is the built-in."""
    from snakemake.iocontainers import Snakemake

    name, _, jobs = planned
    job = next(j for j in jobs if j.rule.name == "claim_verdicts")
    obj = Snakemake(job.input, job.output, job.params, job.wildcards, 1, None, job.log, {}, job.rule.name, None)
    code = ("import pickle, sys; s = pickle.loads(sys.stdin.buffer.read()); p = s.params; "
            "assert not [m for m in sys.modules if m.startswith('advreg')], 'advreg imported'; "
            "print(type(p.files).__name__, type(p.datasets).__name__, type(p.rehearsal).__name__, "
            "type(p.references).__name__, repr(p.rehearsal))")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(obj, protocol=4), capture_output=True,
                         cwd="/", check=True).stdout.decode().split()
    assert out[:4] == ["dict", "list", "bool", "dict"], out


# ------------------------------------------------------------------ the wrapper itself


def test_text_of_each_kind_of_value():
    from advreg.base.params_text import text

    assert text(["clean", "wdecay", "fgsm"]) == "clean, wdecay, fgsm"
    assert text({"a": 1, "b": {"c": [1, 2], "d": None}}) == "a: 1; b: (c: 1, 2; d: –)"
    assert text({"max_test": None, "lrc": None}) == "max_test: all; lrc: not run"
    assert text([True, False]) == "yes, no"
    assert text([math.inf, 1.0, 0.25, "inf", -math.inf]) == "∞, 1, 0.25, ∞, −∞"
    assert text([]) == text({}) == text("") == "none"
    assert text([{"kind": "apgd_ce", "steps": 2}, {"kind": "square"}]) == "(kind: apgd_ce; steps: 2), (kind: square)"
    assert text(None, none="all") == "all"


@pytest.mark.parametrize("value,none,count,shows", [
    (["clean", "wdecay"], "–", None, "clean, wdecay"),
    ({0: "a.csv", 1: "b.csv"}, "–", None, "0: a.csv; 1: b.csv"),
    ({"robustness": {"mnist": "r.csv"}, "lrc": {"mnist": {"0": "a", "1": "b"}}}, "–", "table",
     "robustness: 1 table; lrc: 2 tables"),
    (None, "all", None, "all"),
    (False, "–", None, "no"),
    (True, "–", None, "yes"),
    (5.0, "–", None, "5"),
    (0.36787944, "–", None, "0.36787944"),
    (math.inf, "–", None, "∞"),
    (7, "–", None, "7"),
    ("cpu", "–", None, "cpu"),
])
def test_a_shown_param_prints_as_text_and_stays_its_value(value, none, count, shows):
    from snakemake.logging import format_dict

    from advreg.base.params_text import plain, shown

    param = shown(value, none=none, count=count)
    got = param({})                                          # a params function of the wildcards
    assert format_dict({"x": got}) == f"x={shows}"
    assert repr(got) == repr(value)                          # Snakemake's params record: unchanged
    back = pickle.loads(pickle.dumps(got, protocol=4))       # what the job's script receives
    assert type(back) is type(value) and (back == value or value is None and back is None)
    assert plain(got) == value and type(plain(got)) is type(value)
    if isinstance(value, (list, dict, float)):
        assert got == value and isinstance(got, type(value))


def test_shown_wraps_a_params_function_and_keeps_its_arguments():
    import inspect

    from advreg.base.params_text import shown

    def files(wildcards, input):
        return {"n": len(input), "ds": wildcards["dataset"]}

    param = shown(files)
    # Snakemake reads the function's parameters (input: a derived param, not in the rerun record)
    assert list(inspect.signature(param).parameters) == ["wildcards", "input"]
    got = param({"dataset": "mnist"}, input=["a", "b"])
    assert f"{got}" == "n: 2; ds: mnist" and got == {"n": 2, "ds": "mnist"}
