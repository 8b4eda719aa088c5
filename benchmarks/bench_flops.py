"""Achieved FLOP/s of a training step as a share of this device's dense-matmul FLOP/s, measured in
the same process: how close a pipeline job gets to what the hardware can do.

    python benchmarks/bench_flops.py --threads 1                    # a pipeline job: 1 thread
    python benchmarks/bench_flops.py --widths 16 16 32 32 100 100   # the quick preset's half width

The step's FLOPs are counted by torch.utils.flop_counter (advreg.workflow.cost); the matmul reference is a
square fp32 matmul of size ``--matmul``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advreg.base.timing import seconds_per_call  # noqa: E402
from advreg.nn.models import build_from_spec, place  # noqa: E402
from advreg.workflow.cost import _count  # noqa: E402

PAPER_MNIST = [32, 32, 64, 64, 200, 200]  # the C&W widths the SGR paper trains on MNIST


def measure(device: str = "cpu", widths=PAPER_MNIST, batch: int = 128, matmul: int = 1024,
            repeats: int = 10) -> dict:
    dev = torch.device(device)
    a = torch.randn(matmul, matmul, device=dev)
    b = torch.randn(matmul, matmul, device=dev)
    a @ b
    mm = 2 * matmul ** 3 / seconds_per_call(lambda: a @ b, dev, rounds=repeats)

    spec = {"arch": "cw", "in_channels": 1, "image_size": 28, "widths": list(widths), "num_classes": 10}
    model = place(build_from_spec(spec), dev).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(batch, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, (batch,), device=dev)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    flops = _count(step)
    achieved = flops / seconds_per_call(step, dev, rounds=repeats)
    return {"device": str(dev), "threads": torch.get_num_threads(), "matmul_gflops": mm / 1e9,
            "step_gflops": achieved / 1e9, "share": achieved / mm, "step_mflop": flops / 1e6}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (a pipeline job uses 1)")
    ap.add_argument("--widths", type=int, nargs=6, default=PAPER_MNIST)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--matmul", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=10)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    r = measure(a.device, a.widths, a.batch, a.matmul, a.repeats)
    print(f"device={r['device']} threads={r['threads']} widths={a.widths} batch={a.batch}")
    print(f"dense matmul {a.matmul}²: {r['matmul_gflops']:.1f} GFLOP/s")
    print(f"training step ({r['step_mflop']:.0f} MFLOP): {r['step_gflops']:.1f} GFLOP/s = "
          f"{100 * r['share']:.0f} % of the matmul rate")


if __name__ == "__main__":
    main()
