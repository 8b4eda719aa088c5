"""What each rule's jobs really needed in a finished run (the rehearsal, issue 27), beside what the
rules ask for: every job log opens with its rule and wildcards and ends with its wall time, CPU
time and peak memory (scripts/_log.py), and advreg.workflow.cost gives the `mem_mb` / `runtime` a job of
the same rule and wildcards asks for under the run's config and under config.yaml (the full run).

    .venv/bin/python benchmarks/rehearsal_resources.py results/rehearsal presets/rehearsal.yaml

A rule is flagged when a job's measured peak memory exceeds what the same job asks for at full size
(the memory model is too low), or when its measured wall time exceeds its full-size runtime ask.
The time per rule, predicted against measured, is benchmarks/cost_model.py's `--measured` table.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advreg.workflow import config_check  # noqa: E402
from advreg.workflow import cost  # noqa: E402

_OPEN = re.compile(r"^\[[^]]+\] rule (\w+)(?: \((.*?)\))?, pid \d+(?: \(started in ([\d.]+) s\))?")
_END = re.compile(r"job resources: wall ([\d.]+) s, cpu ([\d.]+) s, peak RSS (\d+) MB"
                  r"(?:, peak GPU memory (\d+) MB)?")


def job_records(log_dir: str | Path) -> pd.DataFrame:
    """One row per finished job log: rule, wildcards, start-up (interpreter, Snakemake's preamble,
    imports: the log's first line), wall after it, cpu, peak RSS (MB)."""
    rows = []
    for path in Path(log_dir).rglob("*.log"):
        text = path.read_text(errors="replace").splitlines()
        m = _OPEN.match(text[0]) if text else None
        end = next((_END.search(line) for line in reversed(text) if "job resources:" in line), None)
        if not m or not end:
            continue
        w = dict(kv.split("=", 1) for kv in m.group(2).split(", ")) if m.group(2) else {}
        rows.append({"rule": m.group(1), "wildcards": w, "wall_s": float(end.group(1)),
                     "startup_s": float(m.group(3)) if m.group(3) else None,
                     "cpu_s": float(end.group(2)), "peak_rss_mb": int(end.group(3)),
                     "peak_gpu_mb": int(end.group(4)) if end.group(4) else None})
    return pd.DataFrame(rows)


def asks(rule: str, w: dict, config: dict) -> tuple[int, float]:
    """(mem_mb, runtime minutes) a job asks for under ``config`` (advreg.workflow.cost, as the rules do)."""
    try:
        return cost.job_mem_mb(rule, w, config), cost.job_runtime_minutes(rule, w, config)
    except (KeyError, TypeError, ValueError):   # a table rule: the base ask
        return config["cost"]["base_mem_mb"], float(config["cost"]["min_minutes"])


def per_rule(jobs: pd.DataFrame, run_config: dict, full_config: dict) -> pd.DataFrame:
    full = [asks(r, w, full_config) for r, w in zip(jobs.rule, jobs.wildcards)]
    jobs = jobs.assign(full_mem_mb=[m for m, _ in full], full_runtime_min=[t for _, t in full])
    table = jobs.groupby("rule").agg(
        jobs=("wall_s", "size"), wall_s_sum=("wall_s", "sum"), wall_s_max=("wall_s", "max"),
        cpu_s_sum=("cpu_s", "sum"), peak_rss_mb=("peak_rss_mb", "max"),
        full_mem_mb_min=("full_mem_mb", "min"), full_runtime_min_min=("full_runtime_min", "min"))
    table["flag"] = ["memory ask too low" if r.peak_rss_mb > r.full_mem_mb_min else
                     "runtime ask too low" if r.wall_s_max / 60 > r.full_runtime_min_min else ""
                     for r in table.itertuples()]
    return table.sort_values("wall_s_sum", ascending=False)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", help="results/<run_name> of a finished run")
    ap.add_argument("configfile", help="the preset the run used (layered on config.yaml)")
    args = ap.parse_args(argv)
    run_config = config_check.load([ROOT / "config.yaml", args.configfile])
    full_config = config_check.load([ROOT / "config.yaml"])
    jobs = job_records(Path(args.run_dir) / "logs")
    if jobs.empty:
        raise SystemExit(f"no finished job log with a 'job resources' line under {args.run_dir}/logs")
    table = per_rule(jobs, run_config, full_config)
    pd.set_option("display.width", 200)
    print(table.round(1).to_string())
    print(f"\n{len(jobs)} jobs, {jobs.wall_s.sum() / 60:.1f} job-minutes of work (start-up and "
          f"Snakemake's scheduling not included), largest peak RSS {jobs.peak_rss_mb.max()} MB")
    print(startup_line(jobs))


def startup_line(jobs: pd.DataFrame) -> str:
    """What start-up costs: its job-seconds as a share of all job-seconds (start-up + work)."""
    up = jobs.startup_s.dropna()
    total = up.sum() + jobs.loc[up.index, "wall_s"].sum()
    return (f"start-up: {up.sum():.0f} of {total:.0f} job-seconds ({100 * up.sum() / total:.1f} %), "
            f"median {up.median():.2f} s a job over {len(up)} jobs")


if __name__ == "__main__":
    main()
