"""A new method and a new attack are one entry each (issue 15, README "Extending"): an extension
file outside advreg/ (docs/extending/example_extension.py) registers input-gradient ℓ1
regularization and a random-sign-noise attack; the config names the file and the two kinds, and the
tiny DAG, with no rule touched, trains the method and puts it in every table, matrix, the strong
evaluation and the summary, and runs the attack on every model."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from conftest import MIRROR
from workflow_utils import REPO, copy_workflow, run_api, snakemake_cli, write_config

pytestmark = pytest.mark.pipeline

EXTENSION = {
    "run_name": "ext",
    "data": {"mirror": str(MIRROR)},
    "extensions": ["my_extension.py"],
    "methods": ["clean", "l1grad"],
    "method_settings": {"l1grad": {"kind": "input_grad_l1", "lam": 0.05}},
    "attacks": ["fgsm", "pgd", "sign_noise"],
    "attack_settings": {"sign_noise": {"kind": "sign_noise", "eps_255": {"mnist": [32]}}},
    "transfer": {"attacks": ["pgd", "sign_noise"]},
    "lrc": {"models": ["clean", "l1grad"]},
    "smoothness": {"models": ["clean"]},
}


@pytest.fixture(scope="module")
def extension_run(tmp_path_factory, mnist_test_digits):
    wd = copy_workflow(tmp_path_factory.mktemp("extension"))
    assert not (wd / "docs").exists()  # the extension reaches the run only through the config
    shutil.copy(REPO / "docs" / "extending" / "example_extension.py", wd / "my_extension.py")
    configs = [wd / "presets" / "tiny.yaml", write_config(wd, EXTENSION)]
    run_api(wd, configs, cores=2)
    return wd, configs, wd / "results" / "ext"


def test_new_method_and_attack_appear_everywhere(extension_run):
    _, _, r = extension_run
    clean = pd.read_csv(r / "tables/clean_accuracy_mnist.csv", index_col=0)
    assert "l1grad" in clean.index and clean.loc["l1grad", "seed0"] > 50  # it trained
    whitebox = pd.read_csv(r / "tables/whitebox_mnist_seed0.csv", index_col=0)
    assert "l1grad" in whitebox.index and any("sign_noise" in c for c in whitebox.columns), whitebox
    for attack in ("pgd", "sign_noise"):
        m = pd.read_csv(r / f"matrices/mnist_seed0_{attack}_eps32.csv", index_col=0)
        assert "l1grad" in m.index and "l1grad" in m.columns, (attack, m)
    assert "l1grad" in pd.read_csv(r / "tables/robustness_mnist.csv").to_string()  # strong evaluation
    assert "l1grad" in pd.read_csv(r / "tables/lrc_sweep_mnist.csv").to_string()
    summary = (r / "summary.md").read_text()
    assert "l1grad" in summary and "sign_noise" in summary
    log = (r / "logs/train/mnist/l1grad/seed0.log").read_text()
    assert "extension loaded:" in log and "my_extension.py" in log


def test_editing_the_extension_reruns_what_uses_it(extension_run):
    """The extension file is a code input of the rules that reach the registries: editing it
    re-plans their jobs (training, attacks), not the tables that only read their outputs."""
    wd, configs, _ = extension_run
    ext = wd / "my_extension.py"
    ext.write_text(ext.read_text() + "\n# edited\n")
    out = snakemake_cli(wd, "-n", "--cores", "1", "--configfile", *map(str, configs)).stdout
    assert "rule train:" in out and "rule adversarial_set:" in out
    assert "my_extension.py" in out


def test_an_unknown_kind_or_a_missing_extension_is_refused_before_any_job(extension_run):
    wd, configs, _ = extension_run
    bad = write_config(wd, {"extensions": ["nowhere.py"]}, "bad-ext.yaml")
    proc = snakemake_cli(wd, "-n", "--cores", "1", "--configfile", *map(str, configs), str(bad), check=False)
    assert proc.returncode != 0 and "nowhere.py" in proc.stdout + proc.stderr
    forgot = write_config(wd, {"extensions": []}, "no-ext.yaml")
    proc = snakemake_cli(wd, "-n", "--cores", "1", "--configfile", *map(str, configs), str(forgot), check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "input_grad_l1" in text and "sign_noise" in text, text[-2000:]
