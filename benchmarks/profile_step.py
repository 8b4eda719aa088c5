"""Where a paper-width training step spends its time, per method, in fp32 (issue 26, item 3).

For each method it runs ``--steps`` training steps of the real loop's body (batch selection and
augmentation on the device, ``method.loss``, backward, Adam) on the C&W net at the paper's MNIST
widths, under ``torch.profiler``, and splits the wall time into:

- the loop's phases (``record_function``): data (index + augment), loss (forward, and inside it a
  method's inner attack steps or the first backward of a double-backprop), backward, optimizer;
- the operators' own CPU time by kind: convolution forward, convolution backward, dense layers,
  pooling, elementwise, the rest; and what no operator accounts for (Python, dispatch, autograd
  bookkeeping) = wall − Σ operator self time.

    .venv/bin/python benchmarks/profile_step.py --threads 1 --steps 20
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advreg.data.artifact import to_float  # noqa: E402
from advreg.nn.models import build_from_spec, place  # noqa: E402
from advreg.training import augment as aug  # noqa: E402
from advreg.training.methods import MethodContext, build_method  # noqa: E402
from advreg.workflow import config_check, config_views  # noqa: E402

KINDS = (("conv backward", ("convolution_backward",)),   # before "conv forward": its name contains "convolution"
         ("conv forward", ("convolution", "conv2d")),
         ("dense", ("addmm", "aten::mm", "aten::linear", "aten::t", "matmul")),
         ("pooling", ("max_pool", "pool2d")),
         ("elementwise", ("relu", "threshold", "add", "mul", "div", "sub", "sign", "clamp", "where",
                          "copy", "fill", "zero", "sum", "mean", "exp", "log", "softmax", "sqrt",
                          "neg", "lerp", "addcmul", "addcdiv", "pow", "max", "min", "cat", "gather")))
PHASES = ("data", "loss", "backward", "optimizer")


def kind_of(name: str) -> str:
    for kind, keys in KINDS:
        if any(k in name for k in keys):
            return kind
    return "other operators"


def profile_method(name: str, cfg: dict, steps: int, batch: int, x8: torch.Tensor, y: torch.Tensor,
                   spec: dict, crop_pad: int) -> dict:
    dev = torch.device("cpu")
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = place(build_from_spec(spec), dev)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    ctx = MethodContext(device=dev, generator=g, image_shape=tuple(x8.shape[1:]), data_mean_diag=0.1,
                        data_mean_norm=9.3)
    method = build_method(name, cfg, ctx)

    def step(i):
        with record_function("data"):
            idx = torch.randint(0, len(x8), (batch,), generator=g)
            xb = aug.augment(to_float(x8[idx]), crop_pad, False, 0.0, g)
        with record_function("loss"):
            loss, _ = method.loss(model, xb, y[idx])
        with record_function("backward"):
            opt.zero_grad(set_to_none=True)
            loss.backward()
        with record_function("optimizer"):
            opt.step()

    for i in range(3):   # warm-up: allocations, the first covariance estimate
        step(i)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for i in range(steps):
            step(i)
        wall = time.perf_counter() - t0
    row = {"method": name, "ms/step": 1000 * wall / steps}
    ev = prof.key_averages()
    for p in PHASES:
        row[f"{p} %"] = 100 * sum(e.cpu_time_total for e in ev if e.key == p) / 1e6 / wall
    kinds: dict[str, float] = {}
    for e in ev:
        if e.key in PHASES or e.key.startswith("ProfilerStep"):
            continue
        kinds[kind_of(e.key)] = kinds.get(kind_of(e.key), 0.0) + e.self_cpu_time_total / 1e6
    for kind, _ in KINDS:
        row[f"{kind} %"] = 100 * kinds.get(kind, 0.0) / wall
    row["other operators %"] = 100 * kinds.get("other operators", 0.0) / wall
    row["no operator (Python, dispatch) %"] = 100 * (wall - sum(kinds.values())) / wall
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--methods", nargs="+", default=["clean", "sgr_sign", "gn", "fgsm", "pgd"])
    ap.add_argument("--pgd-steps", type=int, nargs="+", default=[7, 40])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = config_check.load([Path(__file__).resolve().parents[1] / "config.yaml"])
    spec = config_views.model_spec(config, "mnist", "clean")
    g = torch.Generator().manual_seed(0)
    x8 = torch.randint(0, 256, (4096, 1, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (4096,), generator=g)
    rows = []
    for name in args.methods:
        cfg = copy.deepcopy(config_views.method_cfg(config, "mnist", name))
        variants = [(f"{name} ({k} steps)", {**cfg, "steps": k}) for k in args.pgd_steps] if name == "pgd" else [(name, cfg)]
        for label, c in variants:
            row = profile_method(name, c, args.steps, args.batch, x8, y, spec, crop_pad=4)
            row["method"] = label
            rows.append(row)
            print(f"  {label}: {row['ms/step']:.1f} ms/step", file=sys.stderr)
    import pandas as pd
    df = pd.DataFrame(rows).set_index("method")
    base = df.loc["clean", "ms/step"] if "clean" in df.index else float("nan")
    df.insert(1, "× clean", df["ms/step"] / base)
    print(f"C&W MNIST widths {spec['widths']}, batch {args.batch}, fp32, {args.threads} thread(s), "
          f"torch {torch.__version__}, {args.steps} profiled steps per method")
    print(df.round(1).to_markdown())


if __name__ == "__main__":
    main()
