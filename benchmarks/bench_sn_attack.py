"""What spectral normalization costs an attack, before and after evaluating SN models with each
effective weight computed once (issue 30; advreg.nn.spectral.freeze_spectral_norm /
frozen_for_attacks). Times PGD on the same images against the plain model, its SN twin as trained
(the power iteration runs on every forward) and the frozen SN twin; prints each as a ratio to the
plain model, measured in one run.

    .venv/bin/python benchmarks/bench_sn_attack.py --arch elunet --dataset mnist --steps 10
"""
from __future__ import annotations

import argparse

import torch

from advreg.attacks import whitebox as attacks
from advreg.base.timing import seconds_per_call
from advreg.data.sources import DATASETS
from advreg.nn.models import build_model
from advreg.nn.sn_modes import apply_spectral_norm
from advreg.nn.spectral import freeze_spectral_norm


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="elunet")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--widths", type=int, nargs="*", help="the architecture's widths (ELU-Net: none)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    c, h, w = DATASETS[args.dataset].shape
    def build(sn: bool):   # each model built on its own (a deepcopy would share torch's parametrized classes)
        torch.manual_seed(0)
        m = build_model(args.arch, c, h, args.widths or [], 10)
        return (apply_spectral_norm(m, (c, h, w), beta=1.0) if sn else m).to(dev).eval()

    plain, sn = build(False), build(True)
    frozen = freeze_spectral_norm(build(True))
    g = torch.Generator(device=dev).manual_seed(0)
    x = torch.rand(args.images, c, h, w, device=dev, generator=g)
    kw = {"steps": args.steps, "step_size": 0.01, "random_start": False}

    def attack(model):
        return lambda: attacks.run_attack("pgd", model, x, 0.1, kw, args.images, g)

    out = attack(sn)()
    assert torch.equal(out, attack(frozen)()), "the frozen SN model must give the same adversarial examples"
    times = {name: seconds_per_call(attack(m), dev, rounds=args.rounds, warmup=1)
             for name, m in (("plain", plain), ("SN, power iteration per forward", sn), ("SN, frozen", frozen))}
    print(f"PGD-{args.steps} on {args.images} {args.dataset} images, {args.arch}, {args.device}, "
          f"{args.threads} thread(s):")
    for name, t in times.items():
        print(f"  {name:34s} {t * 1000:8.1f} ms   {t / times['plain']:.2f}× plain")


if __name__ == "__main__":
    main()
