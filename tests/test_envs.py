"""The conda environment pins the same versions as the pip requirements (one stack, two formats)."""
import yaml

from workflow_utils import REPO


def test_conda_pins_match_pip_pins():
    pip_pins = {l.strip() for l in (REPO / "envs" / "requirements.txt").read_text().splitlines()
                if l.strip() and not l.startswith("#")}
    env = yaml.safe_load((REPO / "envs" / "advreg.yaml").read_text())
    conda_pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in conda_pip if "==" in p} == pip_pins
