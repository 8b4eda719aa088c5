"""Cost of operator-norm spectral normalization per training step.

For each model it times, on the same weights and batch:
  plain   one training step (forward + backward + Adam step) without SN;
  SN      the same step with SN on every Conv2d/Linear (power step + σ̂ + rescale inside forward);
  SN-only the SN parametrizations alone in train mode: the power step(s), σ̂ and W/max(1, σ̂/β)
          for every layer, forward and backward (backward of Σ⟨W_eff, G⟩ with a random G).
and reports ms per step and the SN share of the SN training step (overhead = SN − plain, and
SN-only / SN). Target: ≤ 10 %.

    python benchmarks/bench_spectral.py --device cpu --batch 32
    python benchmarks/bench_spectral.py --device cuda --batch 128 --arch cw-cifar
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advreg.nn import architectures as _arch  # noqa: E402
from advreg.nn.models import build_model  # noqa: E402

SN_ARCHITECTURES = {a: _arch.builder(a) for a, where in _arch.ARCHITECTURES.items()
                    if where.startswith("advreg.nn.sn_architectures:")}  # the SN paper's networks
from advreg.base.timing import seconds_per_call  # noqa: E402
from advreg.nn.sn_modes import apply_spectral_norm  # noqa: E402
from advreg.nn.spectral import spectral_parametrizations  # noqa: E402

MODELS = {
    # name: (arch, in_channels, image_size, widths)
    "cw-cifar": ("cw", 3, 32, [64, 64, 128, 128, 256, 256]),
    "cw-mnist": ("cw", 1, 28, [32, 32, 64, 64, 200, 200]),
}


def _timed(fn, device) -> float:
    return seconds_per_call(fn, device) * 1e3


def bench(name: str, arch: str, C: int, S: int, widths, args, device) -> dict:
    torch.manual_seed(0)
    plain = build_model(arch, C, S, widths).to(device)
    sn = apply_spectral_norm(copy.deepcopy(plain), (C, S, S), beta=args.beta, mode=args.mode,
                             n_power_iterations=args.n_power_iterations,
                             grad_through_power=args.grad_through_power)
    plain.train(), sn.train()
    x = torch.rand(args.batch, C, S, S, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    opts = {id(m): torch.optim.Adam(m.parameters(), lr=1e-4) for m in (plain, sn)}

    def step(model):
        opt = opts[id(model)]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    params = spectral_parametrizations(sn)
    grads = [torch.randn_like(m.weight) for _, m, _ in params]

    def sn_only():
        ws = [m.weight for _, m, _ in params]  # train mode: one power step per layer
        sum((w * g).sum() for w, g in zip(ws, grads)).backward()

    t_plain, t_sn, t_only = [], [], []
    for i in range(args.warmup + args.steps):  # interleaved so drifts hit all three alike
        a = _timed(lambda: step(plain), device)
        b = _timed(lambda: step(sn), device)
        c = _timed(sn_only, device)
        if i >= args.warmup:
            t_plain.append(a), t_sn.append(b), t_only.append(c)
    med = statistics.median
    res = dict(model=name, plain=med(t_plain), sn=med(t_sn), sn_only=med(t_only))
    res["overhead"] = res["sn"] - res["plain"]
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--arch", default="all",
                    help=f"'all' (= cw-cifar,cw-mnist), or comma list of {sorted(MODELS)} and "
                         f"SN architectures as name-C-S, e.g. alexnet-3-32")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--mode", default="operator", choices=["operator", "kernel"])
    ap.add_argument("--n-power-iterations", type=int, default=1)
    ap.add_argument("--grad-through-power", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads on CPU (0: default)")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)

    names = list(MODELS) if args.arch == "all" else args.arch.split(",")
    print(f"device={device} batch={args.batch} mode={args.mode} n_power_iterations={args.n_power_iterations} "
          f"grad_through_power={args.grad_through_power} threads={torch.get_num_threads()} "
          f"steps={args.steps} (medians)")
    print(f"{'model':<14}{'plain ms':>10}{'SN ms':>10}{'overhead ms':>13}{'overhead %':>12}"
          f"{'SN-only ms':>12}{'SN-only %':>11}")
    for name in names:
        if name in MODELS:
            spec = MODELS[name]
        else:
            a, C, S = name.rsplit("-", 2)
            if a not in SN_ARCHITECTURES:
                raise SystemExit(f"unknown model {name!r}")
            spec = (a, int(C), int(S), None)
        arch, C, S, widths = spec
        r = bench(name, arch, C, S, widths, args, device)
        print(f"{r['model']:<14}{r['plain']:>10.2f}{r['sn']:>10.2f}{r['overhead']:>13.2f}"
              f"{100 * r['overhead'] / r['sn']:>11.1f}%{r['sn_only']:>12.2f}{100 * r['sn_only'] / r['sn']:>10.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
