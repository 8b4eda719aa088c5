"""Every benchmark on one device, one table: the command to run on a GPU box.

    .venv/bin/python benchmarks/run_all.py --device cuda --run results/quick
    .venv/bin/python benchmarks/run_all.py --device cpu --tiny          # sizes for a quick check

Rows: training-step ratio of every method to `clean` (bench_methods), the covariance product's
share of an SGR step (bench_methods), our PGD's throughput against torchattacks' (bench_pgd), a
paper-width MNIST step's FLOP/s as a share of dense matmul (bench_flops), the cost model's
calibration (advreg.workflow.cost: training and attack FLOP/s, job start-up cold), and, from a finished run
(``--run``), the strong evaluation's time as a multiple of the PGD-20 evaluation on the same images.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch
import yaml

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import bench_flops  # noqa: E402
import bench_methods  # noqa: E402
import bench_pgd  # noqa: E402

from advreg.workflow import cost  # noqa: E402


def strong_cost(run: Path) -> list[dict]:
    """Strong evaluation seconds / paper-attack seconds per model of a finished run."""
    ratios = [m["seconds"] / m["paper_seconds"] for f in sorted(run.glob("strong/**/*.json"))
              for m in [json.loads(f.read_text())] if m.get("paper_seconds")]
    if not ratios:
        return [{"benchmark": "strong_eval", "measure": f"no strong-evaluation metrics under {run}",
                 "value": float("nan"), "unit": "", "target": ""}]
    s = pd.Series(ratios)
    return [{"benchmark": "strong_eval", "measure": f"time ÷ PGD-20 time, mean over {len(s)} models",
             "value": s.mean(), "unit": "×", "target": "≤ 10"},
            {"benchmark": "strong_eval", "measure": "time ÷ PGD-20 time, worst model",
             "value": s.max(), "unit": "×", "target": "≤ 10"}]


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (a pipeline job uses 1)")
    ap.add_argument("--config", default=str(HERE.parent / "config.yaml"))
    ap.add_argument("--run", help="a finished run's folder (results/<run_name>) for the strong-evaluation cost")
    ap.add_argument("--tiny", action="store_true", help="small sizes: checks that everything runs")
    a = ap.parse_args(argv)
    if a.device == "cpu":
        torch.set_num_threads(a.threads)
    batch, repeats = (16, 2) if a.tiny else (128, 10)
    config = yaml.safe_load(open(a.config))
    rows = []

    steps, covs = bench_methods.measure(config, "mnist", a.device, batch, repeats,
                                        pgd_steps=2 if a.tiny else None)
    rows += [{"benchmark": "methods", "measure": f"{r['method']} step ÷ clean step", "value": r["x_clean"],
              "unit": "×", "target": ""} for r in steps]
    rows += [{"benchmark": "methods", "measure": f"{r['method']}: Σ̂·g ({r['kind']}) share of the step",
              "value": 100 * r["share"], "unit": "%", "target": ""} for r in covs]

    p = bench_pgd.measure(a.device, batch=batch if a.tiny else 256, steps=3 if a.tiny else 40, repeats=repeats)
    rows.append({"benchmark": "pgd", "measure": "our PGD ÷ torchattacks.PGD time (inverse throughput)",
                 "value": 1 / p["ratio"], "unit": "×", "target": "≤ 1"})

    widths = [4, 4, 8, 8, 16, 16] if a.tiny else bench_flops.PAPER_MNIST
    f = bench_flops.measure(a.device, widths, batch, matmul=256 if a.tiny else 1024, repeats=repeats)
    rows += [{"benchmark": "flops", "measure": "dense matmul", "value": f["matmul_gflops"], "unit": "GFLOP/s", "target": ""},
             {"benchmark": "flops", "measure": f"MNIST C&W {widths} training step", "value": f["step_gflops"],
              "unit": "GFLOP/s", "target": ""},
             {"benchmark": "flops", "measure": "step ÷ matmul", "value": 100 * f["share"], "unit": "%", "target": "≥ 50"}]

    spec = {"arch": "cw", "in_channels": 1, "image_size": 28, "widths": widths, "num_classes": 10}
    c = cost.calibrate(spec, batch=batch, attack_batch=4 * batch, repeats=repeats, device=a.device)
    rows += [{"benchmark": "cost model", "measure": "training throughput", "value": c["train_flops_per_s"] / 1e9,
              "unit": "GFLOP/s", "target": ""},
             {"benchmark": "cost model", "measure": "attack-batch throughput", "value": c["attack_flops_per_s"] / 1e9,
              "unit": "GFLOP/s", "target": ""},
             {"benchmark": "cost model", "measure": "cold job start-up (python, torch, advreg)",
              "value": cost.startup_seconds(repeats=1 if a.tiny else 3), "unit": "s", "target": ""}]
    if a.run:
        rows += strong_cost(Path(a.run))

    df = pd.DataFrame(rows)
    name = torch.cuda.get_device_name(0) if a.device.startswith("cuda") else f"cpu, {torch.get_num_threads()} thread(s)"
    print(f"device: {name}; torch {torch.__version__}{'; tiny sizes' if a.tiny else ''}")
    print(df.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return df


if __name__ == "__main__":
    main()
