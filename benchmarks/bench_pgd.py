"""Throughput of advreg.attacks.whitebox.pgd vs torchattacks.PGD on the MNIST CW CNN (random init).

    python benchmarks/bench_pgd.py --device cpu --batch 64 --steps 10 --repeats 3

Prints images/s for each and the ratio ours/torchattacks (target ≥ 1.0). Both run the same model,
batch, ε, step size and steps, with random start, labels = predicted labels.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advreg.attacks.whitebox import pgd
from advreg.base.timing import seconds_per_call  # noqa: E402
from advreg.nn.models import build_model  # noqa: E402
from advreg.nn.predict import predicted_labels  # noqa: E402


def measure(device: str, batch: int = 256, steps: int = 40, repeats: int = 5, eps: float = 0.3,
            step_size: float = 0.01, warmup: int = 1, seed: int = 0) -> dict:
    """Median images/s of our PGD and of torchattacks.PGD on the same model, batch and settings."""
    import torchattacks

    device = torch.device(device)
    torch.manual_seed(seed)
    model = build_model("cw", 1, 28, [32, 32, 64, 64, 200, 200]).to(device).eval()
    x = torch.rand(batch, 1, 28, 28, device=device)
    y = predicted_labels(model, x)
    gen = torch.Generator(device=device).manual_seed(seed)
    atk = torchattacks.PGD(model, eps=eps, alpha=step_size, steps=steps, random_start=True)

    def ours():
        return pgd(model, x, eps, steps, step_size, norm="linf", random_start=True, y=y, generator=gen)

    def theirs():
        return atk(x, y)

    for _ in range(warmup):
        ours()
        theirs()
    # interleave to share any drift in machine load
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        t_ours.append(seconds_per_call(ours, device))
        t_theirs.append(seconds_per_call(theirs, device))
    t_ours.sort()
    t_theirs.sort()
    to, tt = t_ours[len(t_ours) // 2], t_theirs[len(t_theirs) // 2]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    return {"device": name, "ours_ips": batch / to, "theirs_ips": batch / tt, "ours_ms": to * 1e3,
            "theirs_ms": tt * 1e3, "ratio": tt / to}


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
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    r = measure(args.device, args.batch, args.steps, args.repeats, args.eps, args.step_size, args.warmup, args.seed)
    print(f"device={r['device']} batch={args.batch} steps={args.steps} repeats={args.repeats} (median)")
    print(f"ours          : {r['ours_ips']:10.1f} images/s  ({r['ours_ms']:.1f} ms/batch)")
    print(f"torchattacks  : {r['theirs_ips']:10.1f} images/s  ({r['theirs_ms']:.1f} ms/batch)")
    print(f"ratio ours/torchattacks: {r['ratio']:.3f}")


if __name__ == "__main__":
    main()
