"""Throughput of advreg.attacks.pgd vs torchattacks.PGD on the MNIST CW CNN (random init).

    python benchmarks/bench_pgd.py --device cpu --batch 64 --steps 10 --repeats 3

Prints images/s for each and the ratio ours/torchattacks (target ≥ 1.0). Both run the same model,
batch, ε, step size and steps, with random start, labels = predicted labels.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advreg.attacks import pgd, predicted_labels  # noqa: E402
from advreg.models import build_model  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device: torch.device, repeats: int) -> float:
    """Median seconds per call."""
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--eps", type=float, default=0.3)
    ap.add_argument("--step-size", type=float, default=0.01)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    args = ap.parse_args(argv)

    import torchattacks

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    model = build_model("cw", 1, 28, [32, 32, 64, 64, 200, 200]).to(device).eval()
    x = torch.rand(args.batch, 1, 28, 28, device=device)
    y = predicted_labels(model, x)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    atk = torchattacks.PGD(model, eps=args.eps, alpha=args.step_size, steps=args.steps, random_start=True)

    def ours():
        return pgd(model, x, args.eps, args.steps, args.step_size, norm="linf", random_start=True, y=y,
                   generator=gen)

    def theirs():
        return atk(x, y)

    for _ in range(args.warmup):
        ours()
        theirs()
    # interleave to share any drift in machine load
    t_ours, t_theirs = [], []
    for _ in range(args.repeats):
        t_ours.append(_time(ours, device, 1))
        t_theirs.append(_time(theirs, device, 1))
    t_ours.sort()
    t_theirs.sort()
    to, tt = t_ours[len(t_ours) // 2], t_theirs[len(t_theirs) // 2]
    ips_o, ips_t = args.batch / to, args.batch / tt
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device={name} batch={args.batch} steps={args.steps} repeats={args.repeats} (median)")
    print(f"ours          : {ips_o:10.1f} images/s  ({to * 1e3:.1f} ms/batch)")
    print(f"torchattacks  : {ips_t:10.1f} images/s  ({tt * 1e3:.1f} ms/batch)")
    print(f"ratio ours/torchattacks: {ips_o / ips_t:.3f}")


if __name__ == "__main__":
    main()
