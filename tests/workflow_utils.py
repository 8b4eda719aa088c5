"""Run the workflow in a throwaway copy: through Snakemake's Python API (real runs) and the CLI
(dry runs, whose plan we parse). Shared by the pipeline, incremental and SLURM tests."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
# the one parser of Snakemake's dry-run listing, and the one list of what a workflow copy needs
from cost_model import WORKFLOW_FILES, copy_workflow, parse_dry_run  # noqa: E402,F401

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


# Overrides (on top of presets/tiny.yaml) that train one clean MNIST model and nothing else: every
# stage's model list is narrowed with `methods`, since the config check rejects a stage that names a
# model no job trains.
CLEAN_ONLY = {
    "methods": ["clean"],
    "lrc": {"models": ["clean"]},
    "smoothness": {"models": ["clean"]},
}


def write_config(workdir: Path, overrides: dict, name: str = "test-overrides.yaml") -> Path:
    path = workdir / name
    path.write_text(yaml.safe_dump(overrides))
    return path


def run_api(workdir: Path, configfiles: list[Path], cores: int = 2, targets=()) -> None:
    """A real run through Snakemake's API (raises on failure)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet=None, printshellcmds=False)) as api:
        wf = api.workflow(resource_settings=ResourceSettings(cores=cores),
                          config_settings=ConfigSettings(configfiles=list(configfiles)),
                          snakefile=workdir / "Snakefile", workdir=workdir)
        dag = wf.dag(dag_settings=DAGSettings(targets=frozenset(targets)))
        dag.execute_workflow(executor="local")


def snakemake_cli(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def configfile_args(configfiles: list[Path]) -> list[str]:
    """One --configfile flag with every file (a repeated flag would keep only the last)."""
    return ["--configfile", *map(str, configfiles)] if configfiles else []


def planned_jobs(workdir: Path, configfiles: list[Path], *extra: str) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job a dry run would execute."""
    out = snakemake_cli(workdir, "-n", "--cores", "1", *configfile_args(configfiles), *extra).stdout
    return parse_dry_run(out)


# Python left in text a person reads (issue 41): a repr of a list, dict or None, a bool, inf/nan
# spelled the Python way, an integer printed as a float with 4 decimals, a quoted repr ("'clean''s").
PYTHON_LEFT = re.compile(
    r"\[\s*'|\{\s*'|\{[0-9.]+: |\[\d+(?:\.\d+)?, \d+(?:\.\d+)?, \d"   # list / dict reprs
    r"|\b(?:True|False)\b|\bNone\b|\bnan\b|\bNaN\b|(?<![\w.-])-?inf\b\*?"  # Python scalars
    r"|\b\w+=(?:\[|\{|None\b)"                                          # keyword=repr (params)
    r"|(?<![\d.])[1-9]\d*\.0000\b"                                       # a count printed as a float
    r"|'\w+''s")


def reader_text(page: str) -> str:
    """What a person reads of an HTML page: its text, without scripts, styles or tags."""
    import html as _html
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return _html.unescape(re.sub(r"<[^>]+>", " ", page))


def python_left(text: str) -> list[str]:
    return [m.group(0) for m in PYTHON_LEFT.finditer(text)]
