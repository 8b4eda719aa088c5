"""Predict what a config costs before running it: every job of its planned DAG with its FLOPs
(advreg.workflow.cost), summed per rule, in time on this device (calibrated here) and on a stated GPU.

    .venv/bin/python benchmarks/cost_model.py config.yaml                      # the paper grid
    .venv/bin/python benchmarks/cost_model.py presets/quick.yaml --cores 2 \
        --measured results/quick/benchmarks                                     # vs a finished run

The planned jobs come from Snakemake's own dry run (`snakemake -n --forceall`), so the model sees
exactly the DAG a run would build. Calibration, on the device given: the FLOP/s of a plain and of
each method's training step and of an attack batch (advreg.workflow.cost.calibrate*), and each rule's fixed
cost per job from a run of the tiny preset in a throwaway copy of the workflow (~1 min on 2 cores;
`--no-fixed` skips it and counts start-up only). ``--measured`` adds each rule's measured
job-seconds from a finished run's `benchmark:` files (column `s`) beside the prediction.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advreg.workflow import cost  # noqa: E402
from advreg.workflow import config_check, config_views  # noqa: E402

# what a run needs of the repository (not results or caches): the tests' throwaway copies use it too
WORKFLOW_FILES = ["Snakefile", "config.yaml", "rules", "scripts", "schemas", "presets", "report", "envs",
                  "profiles", "advreg"]


def copy_workflow(dest: Path, root: Path = ROOT) -> Path:
    """Copy the workflow (not results or caches) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def _configfiles(configfile: str | None) -> list[str]:
    """The --configfile list for a config: nothing for config.yaml (the Snakefile loads it)."""
    if configfile and Path(configfile).resolve() != (ROOT / "config.yaml").resolve():
        return [str(Path(configfile).resolve())]
    return []


def planned_jobs(configfile: str | None, workdir: Path = ROOT) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job of the DAG, from a forced dry run."""
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-n", "--forceall", "--cores", "1"]
    files = _configfiles(configfile)
    if files:
        cmd += ["--configfile", *files]
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"snakemake dry run failed:\n{out.stderr[-3000:]}")
    return parse_dry_run(out.stdout)


_RULE = re.compile(r"^(?:local)?rule (\w+):")
_WILD = re.compile(r"^\s+wildcards: (.*)$")


def parse_dry_run(stdout: str) -> list[tuple[str, dict]]:
    """(rule, wildcards) of each job block of a Snakemake dry-run listing."""
    jobs: list[tuple[str, dict]] = []
    for line in stdout.splitlines():
        m = _RULE.match(line)
        if m:
            jobs.append((m.group(1), {}))
            continue
        w = _WILD.match(line)
        if w and jobs:
            jobs[-1] = (jobs[-1][0], dict(kv.split("=", 1) for kv in w.group(1).split(", ")))
    return jobs


def load_config(configfile: str | None) -> dict:
    files = [ROOT / "config.yaml"] + ([configfile] if configfile and
                                      Path(configfile).resolve() != (ROOT / "config.yaml").resolve() else [])
    return config_check.load(files)


def measured_seconds(bench_dir: str | Path) -> dict[str, tuple[int, float]]:
    """Rule -> (jobs, summed wall seconds) of its jobs' benchmark files (<dir>/<rule>/...tsv)."""
    jobs, seconds = defaultdict(int), defaultdict(float)
    for tsv in Path(bench_dir).rglob("*.tsv"):
        rule = tsv.relative_to(bench_dir).parts[0].split(".")[0]
        jobs[rule] += 1
        seconds[rule] += float(pd.read_csv(tsv, sep="\t")["s"].sum())
    return {r: (jobs[r], seconds[r]) for r in jobs}


def calibration_run(device: str, cores: int, mirror: list[str], offline: bool) -> tuple[dict, dict, list]:
    """Run the tiny preset on ``device`` in a throwaway copy of the workflow (as in a
    local run); return its config, its measured {rule: (jobs, seconds)} and its planned jobs."""
    tiny = ROOT / "presets" / "tiny.yaml"
    with tempfile.TemporaryDirectory(prefix="advreg-cost-") as d:
        wd = copy_workflow(Path(d) / "wf")
        override = wd / "calibration.yaml"
        override.write_text(yaml.safe_dump({"device": device, "run_name": "calibration",
                                            "data": {"mirror": mirror, "offline": offline}}))
        cmd = [str(Path(sys.executable).parent / "snakemake"), "--cores", str(cores),
               "--configfile", str(wd / "presets" / "tiny.yaml"), str(override)]
        out = subprocess.run(cmd, cwd=wd, capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"calibration run of the tiny preset failed:\n{out.stderr[-3000:]}")
        measured = measured_seconds(wd / "results" / "calibration" / "benchmarks")
        config = config_check.load([ROOT / "config.yaml", tiny, override])
    return config, measured, planned_jobs(str(tiny))


def predict(config: dict, jobs, startup: float, rates: dict) -> pd.DataFrame:
    rows = []
    for rule, w in jobs:
        if rule == "all":
            continue
        flops = cost.job_flops(rule, w, config)
        rows.append({"rule": rule, "method": w.get("method"), "flops": flops,
                     "seconds": cost.job_seconds(rule, flops, startup, rates, w.get("method")),
                     "gpu_mem_mb": cost.job_gpu_mem_mb(rule, w, config)})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configfile", nargs="?", default="config.yaml")
    ap.add_argument("--device", default="cpu", help="where to calibrate the throughput")
    ap.add_argument("--cores", type=int, default=1, help="jobs at once, for the wall-time estimate")
    ap.add_argument("--gpu-tflops", type=float, default=20.0,
                    help="stated GPU throughput for these small convnets (TFLOP/s achieved)")
    ap.add_argument("--gpu-startup", type=float, default=8.0, help="stated GPU job start-up (s)")
    ap.add_argument("--measured", help="a run's benchmarks/ folder to compare with")
    ap.add_argument("--no-fixed", action="store_true",
                    help="skip the tiny calibration run: a job's fixed cost is its start-up only")
    args = ap.parse_args(argv)

    config = load_config(args.configfile)
    if args.device == "cpu":
        import torch
        torch.set_num_threads(config["threads"])  # what each job uses (its rule's `threads:`)
    jobs = planned_jobs(args.configfile)
    ds = config["datasets"][0]
    spec = config_views.model_spec(config, ds, config["methods"][0])
    rates = cost.calibrate(spec, batch=config["dataset_settings"][ds]["batch_size"],
                           attack_batch=min(500, config["evaluation"]["batch_size"]), device=args.device,
                           ensemble=config["strong_eval"]["attacks"])
    trained = sorted({w["method"] for r, w in jobs if r == "train" and w.get("dataset") == ds})
    rates.update(cost.calibrate_methods(config, ds, trained, args.device))
    startup = cost.startup_seconds()
    print(f"calibration on {rates['device']}: plain training step {rates['train_flops_per_s'] / 1e9:.1f} GFLOP/s, "
          f"methods {min(v for k, v in rates.items() if k.startswith('train:')) / 1e9:.1f}-"
          f"{max(v for k, v in rates.items() if k.startswith('train:')) / 1e9:.1f} GFLOP/s, "
          f"PGD {rates['attack_flops_per_s'] / 1e9:.1f} GFLOP/s, strong ensemble "
          f"{rates['strong_flops_per_s'] / 1e9:.1f} GFLOP/s, start-up "
          f"{startup:.2f} s a job")

    if not args.no_fixed:
        # mirrors as the config resolves them from the repository root; the throwaway copy is elsewhere
        mirror = config["data"]["mirror"]
        mirror = [mirror] if isinstance(mirror, str) else list(mirror or [])
        mirror = [m if "://" in m or os.path.isabs(m) else str((ROOT / m).resolve()) for m in mirror]
        t0 = time.perf_counter()
        tiny_config, measured, tiny_jobs = calibration_run(args.device, args.cores, mirror,
                                                           config["data"]["offline"])
        compute = predict(tiny_config, tiny_jobs, 0.0, {**rates, **{f"fixed:{r}": 0.0 for r in measured}})
        rates.update(cost.fixed_seconds(measured, compute.groupby("rule").seconds.sum().to_dict()))
        print(f"fixed cost per job, measured by the tiny preset ({time.perf_counter() - t0:.0f} s): "
              + ", ".join(f"{k[6:]} {v:.1f} s" for k, v in sorted(rates.items()) if k.startswith("fixed:")))

    df = predict(config, jobs, startup, rates)
    gpu = {"train_flops_per_s": args.gpu_tflops * 1e12, "attack_flops_per_s": args.gpu_tflops * 1e12}
    df["gpu_seconds"] = [cost.job_seconds(r, f, args.gpu_startup, gpu) for r, f in zip(df.rule, df.flops)]
    df = df.drop(columns="method")
    table = df.groupby("rule").agg(jobs=("flops", "size"), tflops=("flops", lambda s: s.sum() / 1e12),
                                   predicted_min=("seconds", lambda s: s.sum() / 60),
                                   gpu_min=("gpu_seconds", lambda s: s.sum() / 60),
                                   gpu_mem_mb=("gpu_mem_mb", "max"))
    if args.measured:
        meas = measured_seconds(args.measured)
        table["measured_min"] = [meas[r][1] / 60 if r in meas else float("nan") for r in table.index]
        table["error_%"] = 100 * (table.predicted_min - table.measured_min) / table.measured_min
    table = table.sort_values("predicted_min", ascending=False)
    table.loc["TOTAL"] = table.sum(numeric_only=True)
    table.loc["TOTAL", "gpu_mem_mb"] = table["gpu_mem_mb"].drop("TOTAL").max()   # a peak, not a sum
    if args.measured:
        t = table.loc["TOTAL"]
        table.loc["TOTAL", "error_%"] = 100 * (t.predicted_min - t.measured_min) / t.measured_min
    table["share_%"] = 100 * table.predicted_min / table.loc["TOTAL", "predicted_min"]
    pd.set_option("display.width", 200)
    print(table.round(2).to_string())
    total = table.loc["TOTAL"]
    print(f"\n{args.configfile}: {int(total.jobs)} jobs, {total.tflops:.1f} TFLOP; predicted "
          f"{total.predicted_min:.1f} job-minutes on {rates['device']} ≈ {total.predicted_min / args.cores:.1f} "
          f"min wall on {args.cores} core(s); on a GPU at {args.gpu_tflops:g} TFLOP/s: "
          f"{total.gpu_min / 60:.2f} GPU-hours")


if __name__ == "__main__":
    main()
