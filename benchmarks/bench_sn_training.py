"""What the SN schemes' training step costs with the training attack reading each effective weight
from one computation (advreg.nn.spectral.frozen_for_attacks inside advreg.training.methods._AdversarialOnly;
issue 42, item 7) against one power step per attack forward (the code before). Times one training
step (attack, forward, backward) of PGM and WRM with SN on the ELU-Net (MNIST) and the SN AlexNet
(CIFAR-10 shape), both paths in one run, and checks that the two give bitwise the same loss and
gradients.

    .venv/bin/python benchmarks/bench_sn_training.py --steps 15 --batch 64
"""
from __future__ import annotations

import argparse
import contextlib

import torch

from advreg.base.timing import seconds_per_call
from advreg.data.sources import DATASETS
from advreg.nn.models import build_from_spec
from advreg.nn.spectral import frozen_for_attacks
from advreg.training import methods as M
from advreg.training.methods import MethodContext, build_method

CASES = (("elunet", "mnist"), ("alexnet", "cifar10"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=15, help="the attack's steps (SN paper: 15)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    print(f"one training step, batch {args.batch}, attack {args.steps} steps, {args.device}, "
          f"{args.threads} thread(s):")
    for arch, ds in CASES:
        c, h, w = DATASETS[ds].shape
        torch.manual_seed(0)
        model = build_from_spec({"arch": arch, "in_channels": c, "image_size": h, "widths": None,
                                 "spectral_norm": {"beta": 1.0, "mode": "operator"}}).to(dev).train()
        g = torch.Generator(device=dev).manual_seed(0)
        x = torch.rand(args.batch, c, h, w, device=dev, generator=g)
        y = torch.randint(0, 10, (args.batch,), device=dev, generator=g)
        ctx = MethodContext(device=dev, generator=g, image_shape=(c, h, w), data_mean_diag=0.1,
                            data_mean_norm=float(x.flatten(1).norm(dim=1).mean()))
        for scheme, cfg in (("pgm", {"eps_rel": 0.05, "steps": args.steps}),
                            ("wrm", {"gamma_rel": 0.04, "steps": args.steps})):
            method = build_method(scheme, {**cfg, "kind": scheme}, ctx)

            def step():
                loss, _ = method.loss(model, x, y)
                return loss, torch.autograd.grad(loss, list(model.parameters()))

            results, times = {}, {}
            start = {k: v.clone() for k, v in model.state_dict().items()}   # the power iterates too
            for name, freeze in (("power step per attack forward", lambda m: contextlib.nullcontext(m)),
                                 ("frozen once per attack", frozen_for_attacks)):
                M.frozen_for_attacks = freeze
                model.load_state_dict(start)   # the same state for the bitwise comparison
                results[name] = step()
                times[name] = seconds_per_call(step, dev, rounds=args.rounds, warmup=1)
            M.frozen_for_attacks = frozen_for_attacks
            (l0, g0), (l1, g1) = results.values()
            same = torch.equal(l0, l1) and all(torch.equal(a, b) for a, b in zip(g0, g1))
            t0, t1 = times.values()
            print(f"  {arch:8s} {scheme.upper()}: {t0 * 1000:8.1f} ms → {t1 * 1000:8.1f} ms  "
                  f"({t0 / t1:.2f}× faster; bitwise the same step: {'yes' if same else 'NO'})")


if __name__ == "__main__":
    main()
