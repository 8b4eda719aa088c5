"""The one command for the first GPU machine (issue 30): run the rehearsal preset on CUDA, then
every benchmark on CUDA, and write one table.

    .venv/bin/python benchmarks/first_gpu.py                      # on the GPU box (≈ 10 min)
    .venv/bin/python benchmarks/first_gpu.py --datasets mnist     # smaller, if the whole rehearsal does not fit
    .venv/bin/python benchmarks/first_gpu.py --dry                # CPU dry mode: the tiny preset, tiny benchmarks

The table (``results/<run>/first_gpu.md`` and ``.csv``), per rule of the run: its jobs, their
seconds, the peak GPU memory PyTorch's allocator reached (each job log's last line,
scripts/_log.py), the FLOPs the cost model counts for them (advreg.workflow.cost.job_flops) and the
TFLOP/s that makes, against the throughput the cost model assumes (``cost.throughput_gflops`` in
config.yaml: the runtime asked of SLURM) and the 20 TFLOP/s ``benchmarks/cost_model.py`` states
for a GPU. Then, per training method of the run, the host reads (device syncs) one training step
makes (``host_reads_per_step``; the loop's target is 0), and the rows of
``benchmarks/run_all.py`` on the same device.

``--reuse results/<run>`` builds the table from a finished run instead of running one (the test
suite does this with its tiny run); ``--no-benchmarks`` leaves out run_all.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from rehearsal_resources import job_records  # noqa: E402

from advreg.base.timing import host_reads  # noqa: E402
from advreg.figures.tables import markdown_table  # noqa: E402
from advreg.workflow import cost  # noqa: E402
from advreg.workflow import config_check, config_views  # noqa: E402

STATED_GPU_TFLOPS = 20.0   # benchmarks/cost_model.py --gpu-tflops default


def run_pipeline(preset: Path, overrides: dict, cores: int) -> float:
    """The preset with the overrides (device, run name, datasets); returns its wall seconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(overrides, f)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", str(preset), f.name],
                   cwd=ROOT, check=True)
    return time.perf_counter() - t0


def rule_table(run_dir: Path, config: dict) -> pd.DataFrame:
    """Per rule: jobs, seconds, peak GPU memory, counted FLOPs and the TFLOP/s they make."""
    jobs = job_records(run_dir / "logs")
    if jobs.empty:
        raise SystemExit(f"no finished job log under {run_dir}/logs")

    def flops(rule, w):
        try:
            return cost.job_flops(rule, w, config)
        except (KeyError, TypeError, ValueError):   # a rule the cost model does not price: no model passes
            return 0.0
    jobs["flops"] = [flops(r, w) for r, w in zip(jobs.rule, jobs.wildcards)]
    t = jobs.groupby("rule").agg(jobs=("wall_s", "size"), seconds=("wall_s", "sum"),
                                 peak_gpu_mb=("peak_gpu_mb", "max"), tflop=("flops", lambda s: s.sum() / 1e12))
    t["achieved_tflops"] = t.tflop / t.seconds
    t["vs_config_assumed_%"] = 100 * t.achieved_tflops / (config["cost"]["throughput_gflops"] / 1e3)
    t[f"vs_stated_{STATED_GPU_TFLOPS:g}_tflops_%"] = 100 * t.achieved_tflops / STATED_GPU_TFLOPS
    return t.sort_values("seconds", ascending=False)


def host_reads_per_step(config: dict, dataset_path: str, method: str, device: str) -> float:
    """Host reads (GPU syncs on CUDA) per training step of ``method``, made by this project's code:
    the reads of a 20-step run less those of a 10-step one, over 10 (per-epoch reads cancel)."""
    from advreg.jobs.train import train_job
    from advreg.training.settings import TrainSettings

    spec = config_views.model_spec(config, config["datasets"][0], method)
    cfg = config_views.method_cfg(config, config["datasets"][0], method)
    counts = []
    with tempfile.TemporaryDirectory() as d:
        for steps in (10, 20):
            settings = TrainSettings(epochs=1, batch_size=16, lr=1e-3, seed=0, max_train=16 * steps)
            with host_reads() as calls:
                train_job(dataset_path, spec, method, cfg, settings, Path(d) / f"m{steps}.pt", Path(d) / f"h{steps}.csv",
                      Path(d) / f"c{steps}.pt", device=device, log=lambda *_: None)
            counts.append(len(calls))
    return (counts[1] - counts[0]) / 10


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry", action="store_true", help="CPU dry mode: the tiny preset on the CPU, tiny benchmarks")
    ap.add_argument("--reuse", help="a finished run's folder (results/<run>) instead of running one")
    ap.add_argument("--configfile", help="the preset the run used (default: rehearsal, or tiny with --dry)")
    ap.add_argument("--datasets", nargs="*", help="restrict the run to these datasets (to fit 10 minutes)")
    ap.add_argument("--cores", type=int, default=4)
    ap.add_argument("--no-benchmarks", action="store_true", help="leave out benchmarks/run_all.py")
    ap.add_argument("--methods", nargs="*", help="count host reads for these training methods only (default: all the run trained)")
    a = ap.parse_args(argv)
    device = "cpu" if a.dry else "cuda"
    preset = Path(a.configfile or ROOT / "presets" / ("tiny.yaml" if a.dry else "rehearsal.yaml"))
    config = config_check.load([ROOT / "config.yaml", preset])
    overrides = {"device": device}
    if not a.reuse:
        overrides["run_name"] = f"first_gpu{'_dry' if a.dry else ''}"
        if a.datasets:
            overrides["datasets"] = a.datasets
            overrides["sn_experiments"] = {"datasets": [d for d in config["sn_experiments"]["datasets"] if d in a.datasets]}
        config = config_check.merge([config, overrides])
        wall = run_pipeline(preset, overrides, a.cores)
        print(f"{preset.name} on {device}: {wall:.0f} s")
        run_dir = ROOT / config["results_dir"] / config["run_name"]
    else:
        run_dir = Path(a.reuse)

    table = rule_table(run_dir, config)
    artifact = run_dir / "data" / f"{config['datasets'][0]}.pt"
    methods = a.methods or sorted({w["method"] for w in job_records(run_dir / "logs").wildcards
                                   if "method" in w and w["method"] in config["method_settings"]
                                   and not config["method_settings"][w["method"]].get("spectral_norm")})
    syncs = pd.DataFrame([{"method": m, "host_reads_per_step": host_reads_per_step(config, str(artifact), m, device)}
                          for m in methods])
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU (dry mode)"
    lines = [f"# First GPU run: {name}, torch {torch.__version__}", "",
             f"Run `{run_dir}` ({preset.name}). Per rule (job logs' wall time and peak GPU memory; "
             f"FLOPs from advreg.workflow.cost):", "", markdown_table(table.round(3)), "",
             "Host reads per training step (GPU syncs on CUDA; target 0):", "",
             markdown_table(syncs.set_index("method")), ""]
    if not a.no_benchmarks:
        import run_all
        bench = run_all.main(["--device", device] + (["--tiny"] if a.dry else []) + ["--run", str(run_dir)])
        lines += ["benchmarks/run_all.py on the same device:", "", bench.to_markdown(index=False), ""]
    out = run_dir / "first_gpu.md"
    out.write_text("\n".join(lines))
    table.to_csv(run_dir / "first_gpu.csv")
    print("\n".join(lines))
    print(f"written: {out}, {run_dir / 'first_gpu.csv'}")
    return table


if __name__ == "__main__":
    main()
