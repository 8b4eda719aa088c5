"""The conda environment pins the same versions as the pip requirements (one stack, two formats)."""
import re

import yaml
from workflow_utils import REPO


def test_conda_pins_match_pip_pins():
    pip_pins = {l.strip() for l in (REPO / "envs" / "requirements.txt").read_text().splitlines()
                if l.strip() and not l.startswith("#")}
    env = yaml.safe_load((REPO / "envs" / "advreg.yaml").read_text())
    conda_pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in conda_pip if "==" in p} == pip_pins


def _rules_with(pattern: str) -> set[str]:
    """Rules (rules/*.smk) whose block has a line matching ``pattern``."""
    out = set()
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^(?=(?:local)?rule \w+:)", smk.read_text(), flags=re.M):
            m = re.match(r"(?:local)?rule (\w+):", block)
            if m and re.search(pattern, block, re.M):
                out.add(m.group(1))
    return out


def _gpu_rules() -> set[str]:
    """Rules whose `resources:` hold `gpu=`."""
    return _rules_with(r"^\s+gpu=")


def test_no_rule_that_runs_a_model_is_a_local_rule():
    """A rule that runs a model passes `device` to its job; with `device=cuda` on a GPU cluster a
    local rule would run it on the login node (no GPU: pick_device fails). Every such rule takes
    the `gpu` resource and is no `localrules` entry, and the SLURM profile's plan with
    `device=cuda` gives each of its jobs a GPU."""
    from workflow_utils import snakemake_cli

    runs_model = _rules_with(r'^\s+device=DEVICE,')
    assert len(runs_model) >= 13 and runs_model <= _gpu_rules()
    block = (REPO / "Snakefile").read_text().split("localrules:", 1)[1].split("\n\n", 1)[0]
    local = set(re.findall(r"^\s+(\w+),", block, re.M))
    assert "all" in local and not local & runs_model, f"run on the login node: {sorted(local & runs_model)}"
    out = snakemake_cli(REPO, "-n", "--workflow-profile", "profiles/slurm", "--configfile", "presets/tiny.yaml",
                        "--config", "device=cuda", "--forceall").stdout
    for job in re.split(r"\n(?=\[)", out):
        m = re.search(r"^rule (\w+):", job, re.M)
        if m and m.group(1) in runs_model:
            assert re.search(r"resources: .*gpu=1", job), job


def test_the_rules_that_run_a_model_carry_their_gpu_and_the_profiles_follow():
    """The GPU is a fact of the rule (`resources: gpu=GPU`, 0 when `device: cpu`); the SLURM
    profile names no partition per rule but hands the plugin a partition file, from which it sends
    each job where its resources fit: a gpu=1 job to the GPU partition, a gpu=0 job (every job of a
    `device: cpu` run) to the CPU one (issue 30). The test cluster (no GPUs) turns each GPU off, and
    the local profile declares the pool."""
    from types import SimpleNamespace

    from snakemake_executor_plugin_slurm.partitions import get_best_partition, read_partition_file

    gpu = _gpu_rules()
    assert {"train", "train_sn", "evaluate_sn", "adversarial_set", "lrc_attack", "strong_eval",
            "masking_diagnostics", "transfer_matrix"} <= gpu
    slurm = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert "set-resources" not in slurm and "slurm_partition" not in slurm["default-resources"]
    partitions = read_partition_file(REPO / slurm["slurm-partition-config"])
    quiet = SimpleNamespace(debug=print, info=print, warning=print)
    for n_gpu, where in ((0, "compute"), (1, "gpu")):
        job = SimpleNamespace(name="train", threads=4, resources=SimpleNamespace(
            get=lambda k, default=None, g=n_gpu: {"gpu": g, "runtime": 60, "mem_mb": 4000}.get(k, default)))
        assert get_best_partition(partitions, job, quiet) == where, n_gpu
    test = yaml.safe_load((REPO / "tests/slurm/profile/config.yaml").read_text())["set-resources"]
    assert set(test) == gpu and all(v == {"gpu": 0} for v in test.values())
    local = yaml.safe_load((REPO / "profiles/local/config.yaml").read_text())
    assert local["resources"]["gpu"] == 1 and "set-resources" not in local


def test_every_rule_runs_in_the_conda_environment():
    """`conda:` on every rule that runs a script, so `--sdm conda` builds the pinned stack."""
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^(?=(?:local)?rule \w+:)", smk.read_text(), flags=re.M):
            if re.match(r"(?:local)?rule \w+:", block) and "    script:" in block:
                assert re.search(r"^    conda:\n        ENV\n", block, re.M), f"{smk.name}: {block[:60]}"
    assert 'ENV = "../envs/advreg.yaml"' in (REPO / "rules" / "common.smk").read_text()
