"""The conda environment pins the same versions as the pip requirements (one stack, two formats)."""
import yaml

from workflow_utils import REPO


def test_conda_pins_match_pip_pins():
    pip_pins = {l.strip() for l in (REPO / "envs" / "requirements.txt").read_text().splitlines()
                if l.strip() and not l.startswith("#")}
    env = yaml.safe_load((REPO / "envs" / "advreg.yaml").read_text())
    conda_pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in conda_pip if "==" in p} == pip_pins


def test_profiles_route_the_same_gpu_rules():
    """Every heavy rule that gets a GPU on SLURM gets the GPU pool locally and gpu=0 on the test
    cluster; a rule added to one profile and forgotten in another would run without its GPU."""
    rules = [set(yaml.safe_load((REPO / p).read_text())["set-resources"])
             for p in ("profiles/slurm/config.yaml", "profiles/local/config.yaml", "tests/slurm/profile/config.yaml")]
    assert rules[0] == rules[1] == rules[2]
    assert {"train", "train_sn", "evaluate_sn", "adversarial_set", "lrc_attack"} <= rules[0]
