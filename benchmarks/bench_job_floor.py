"""The floor under a many-job run: what Snakemake `script:` jobs cost that do nothing but start.

A run's wall time on few cores is bounded below by its jobs' start-up: Snakemake prepares and
launches each job, a fresh interpreter starts, imports what the job's script imports, and exits.
This measures that cost per job on this machine, for jobs that import nothing, jobs that import
what a table or figure job imports (pandas, matplotlib; no torch), and jobs that import what a model
job imports (``advreg.jobs.attack``: torch and the model stack), by running N empty jobs of each
kind through ``snakemake --cores C`` in a scratch workflow. It then prices a planned run at zero
compute: each rule's job count (a dry run of ``--configfile``) times the per-job floor of its kind
(a rule is a model job when its script's advreg imports load torch), over C cores.

    .venv/bin/python benchmarks/bench_job_floor.py --jobs 60 --cores 2 --configfile presets/rehearsal.yaml

The rehearsal (issue 27) must plan exactly config.yaml's jobs; this is the time no size cut removes.
"""
from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = {   # what an empty job of each kind imports before it writes its output
    "bare": "",
    "table": "import advreg.jobs.transfer_tables, advreg.jobs.verdicts, advreg.figures.tables\n",
    "model": "import advreg.jobs.attack, advreg.base.progress\n",
}
SNAKEFILE = """
rule all:
    input: expand("out/{{i}}.txt", i=range({n}))

rule job:
    output: "out/{{i}}.txt"
    script: "job.py"
"""


def time_kind(kind: str, n: int, cores: int) -> float:
    """Wall seconds of ``n`` empty jobs of ``kind`` through `snakemake --cores`."""
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "Snakefile").write_text(SNAKEFILE.format(n=n))
        (d / "job.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n{KINDS[kind]}"
                                  "open(snakemake.output[0], 'w').write('done')\n")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "--quiet", "all"],
                       cwd=d, check=True, capture_output=True)
        return time.perf_counter() - t0


def rule_scripts() -> dict[str, str]:
    """rule name -> the script it runs (rules/*.smk)."""
    out = {}
    for smk in (ROOT / "rules").glob("*.smk"):
        for rule, body in re.findall(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", smk.read_text(), re.M | re.S):
            m = re.search(r'"\.\./scripts/(\w+)\.py"', body)
            if m:
                out[rule] = m.group(1)
    return out


def loads_torch(script: str) -> bool:
    """Whether the advreg modules a script imports load torch (in a fresh interpreter)."""
    tree = ast.parse((ROOT / "scripts" / f"{script}.py").read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
            and n.module.startswith("advreg")}
    direct = any(isinstance(n, ast.Import) and any(a.name == "torch" for a in n.names) for n in ast.walk(tree))
    code = "import sys\n" + "".join(f"import {m}\n" for m in sorted(mods)) + "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return direct or out.stdout.strip() == "True"


def planned_counts(configfile: str) -> dict[str, int]:
    """rule -> planned jobs, from `snakemake -n --quiet rules`."""
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", configfile],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    stats = out.split("job ", 1)[1].split("total", 1)[0]
    return {r: int(c) for r, c in re.findall(r"^(\w+)\s+(\d+)$", stats, re.M) if r != "all"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=60, help="empty jobs per kind")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--configfile", default="presets/rehearsal.yaml")
    a = ap.parse_args()
    per_job = {}
    for kind in KINDS:
        wall = time_kind(kind, a.jobs, a.cores)
        per_job[kind] = wall / a.jobs
        print(f"{kind:6s}: {a.jobs} empty jobs on {a.cores} cores in {wall:.1f} s = {per_job[kind]:.2f} s of wall "
              f"per job ({per_job[kind] * a.cores:.2f} core-s)")
    scripts = rule_scripts()
    counts = planned_counts(a.configfile)
    torch_rules = {r for r in counts if r in scripts and loads_torch(scripts[r])}
    n_model = sum(c for r, c in counts.items() if r in torch_rules)
    n_table = sum(counts.values()) - n_model
    floor = n_model * per_job["model"] + n_table * per_job["table"]
    print(f"{a.configfile}: {sum(counts.values())} jobs ({n_model} model jobs, {n_table} table/figure jobs); "
          f"at zero compute they take {floor / 60:.1f} min of wall on {a.cores} cores "
          f"(model jobs alone {n_model * per_job['model'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
