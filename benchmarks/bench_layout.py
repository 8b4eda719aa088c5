"""NCHW vs channels-last (``advreg.nn.models.place``) for one training step and one eval forward.

For each model it times, on the same weights and batch, the median over ``--repeats`` rounds of
``--steps`` steps: a training step (forward + backward + Adam step) and a no-grad forward, first
with the model as built (NCHW), then after ``place(model, device)``. It also checks that both
layouts give the same logits (max |Δ|).

    python benchmarks/bench_layout.py --threads 1
    python benchmarks/bench_layout.py --device cuda --batch 256
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advreg.base.timing import seconds_per_call  # noqa: E402
from advreg.nn.models import build_from_spec, place  # noqa: E402

SPECS = {
    "cw-mnist-quick": {"arch": "cw", "in_channels": 1, "image_size": 28, "widths": [16, 16, 32, 32, 100, 100]},
    "cw-mnist": {"arch": "cw", "in_channels": 1, "image_size": 28, "widths": [32, 32, 64, 64, 200, 200]},
    "cw-cifar": {"arch": "cw", "in_channels": 3, "image_size": 32, "widths": [64, 64, 128, 128, 256, 256]},
    "elunet-sn-quick": {"arch": "elunet", "in_channels": 1, "image_size": 28, "widths": [16, 32, 32],
                        "spectral_norm": {"beta": 1.0, "mode": "operator"}},
    "elunet-sn": {"arch": "elunet", "in_channels": 1, "image_size": 28, "widths": [],
                  "spectral_norm": {"beta": 1.0, "mode": "operator"}},
    "elunet": {"arch": "elunet", "in_channels": 1, "image_size": 28, "widths": []},
}


def bench(spec: dict, device: torch.device, batch: int, steps: int, repeats: int) -> dict:
    torch.manual_seed(0)
    base = build_from_spec(spec).to(device)
    shape = (batch, spec["in_channels"], spec["image_size"], spec["image_size"])
    x = torch.rand(shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    out = {}
    for name, model in (("nchw", copy.deepcopy(base)), ("placed", place(copy.deepcopy(base), device))):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        def forward():
            with torch.no_grad():
                model(x)

        model.train()
        out[f"{name}_step_ms"] = 1e3 * seconds_per_call(step, device, calls=steps, rounds=repeats, warmup=2)
        model.eval()
        out[f"{name}_fwd_ms"] = 1e3 * seconds_per_call(forward, device, calls=steps, rounds=repeats, warmup=2)
    a, b = copy.deepcopy(base).eval(), place(copy.deepcopy(base), device).eval()
    with torch.no_grad():
        out["max_abs_logit_diff"] = (a(x) - b(x)).abs().max().item()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (a pipeline job uses 1)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--models", nargs="+", default=list(SPECS), choices=list(SPECS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device={device} batch={args.batch} threads={args.threads} "
          f"(median of {args.repeats} rounds of {args.steps} steps)")
    print(f"{'model':18s} {'step NCHW':>10s} {'step placed':>12s} {'speed-up':>9s} "
          f"{'fwd NCHW':>9s} {'fwd placed':>11s} {'speed-up':>9s} {'max|Δ|':>9s}")
    for name in args.models:
        r = bench(SPECS[name], device, args.batch, args.steps, args.repeats)
        print(f"{name:18s} {r['nchw_step_ms']:8.1f}ms {r['placed_step_ms']:10.1f}ms "
              f"{r['nchw_step_ms'] / r['placed_step_ms']:8.2f}× {r['nchw_fwd_ms']:7.1f}ms "
              f"{r['placed_fwd_ms']:9.1f}ms {r['nchw_fwd_ms'] / r['placed_fwd_ms']:8.2f}× "
              f"{r['max_abs_logit_diff']:9.1e}")


if __name__ == "__main__":
    main()
