"""Step time of every training method on the same batch, as a ratio to `clean`, and the share of an
SGR step spent in the covariance product Σ·g (forward and its backward through double backprop).

    python benchmarks/bench_methods.py --dataset cifar10 --device cuda --batch 128

Methods and their hyperparameters come from config.yaml (the paper settings); ``--pgd-steps``
overrides attack loop lengths to show the cost at another setting.
"""
from __future__ import annotations

import argparse
import copy
import time

import torch
import yaml

from advreg import config as advcfg
from advreg.data import DATASETS
from advreg.methods import MethodContext, build_method
from advreg.models import build_model


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def time_steps(fn, dev, repeats):
    fn()  # warm-up (allocations, cuDNN autotune, first covariance estimate)
    fn()
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(dev)
    return (time.perf_counter() - t0) / repeats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--pgd-steps", type=int, default=None, help="override attack steps")
    ap.add_argument("--config", default="config.yaml")
    args = ap.parse_args()

    config = yaml.safe_load(open(args.config))
    dev = torch.device(args.device)
    c, h, w = DATASETS[args.dataset].shape
    widths = config["dataset_settings"][args.dataset]["widths"]
    g = torch.Generator(device=dev).manual_seed(0)
    x = torch.rand(args.batch, c, h, w, device=dev, generator=g)
    y = torch.randint(0, 10, (args.batch,), device=dev, generator=g)
    ctx = MethodContext(device=dev, generator=g, image_shape=(c, h, w), data_mean_diag=0.1)

    results = {}
    for name in config["methods"]:
        cfg = copy.deepcopy(advcfg.method_cfg(config, args.dataset, name))
        if args.pgd_steps and "steps" in cfg:
            cfg["steps"] = args.pgd_steps
        torch.manual_seed(0)
        model = build_model(config["dataset_settings"][args.dataset]["arch"], c, h, widths).to(dev)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        method = build_method(name, cfg, ctx)

        def step():
            loss, _ = method.loss(model, x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        results[name] = (time_steps(step, dev, args.repeats), method)

    base = results["clean"][0]
    print(f"device={dev} dataset={args.dataset} batch={args.batch} torch={torch.__version__}")
    print(f"{'method':10s} {'ms/step':>9s} {'× clean':>8s}")
    for name, (t, _) in results.items():
        print(f"{name:10s} {1000 * t:9.2f} {t / base:8.2f}")

    # Covariance product share: time Σ·g forward + backward (as inside the double-backprop graph)
    # for each SGR method's estimated Σ̂, against that method's full step.
    print("\ncovariance product Σ·g (forward + backward) as a share of the SGR step:")
    gx = torch.randn(args.batch, c, h, w, device=dev, generator=g, requires_grad=True)
    for name, (t, method) in results.items():
        cov = getattr(method, "cov", None)
        if cov is None or cov.kind == "identity":
            continue

        def product():
            out = cov.apply(gx)
            (gx.grad,) = (None,)
            (out * gx).sum().backward()

        tp = time_steps(product, dev, args.repeats)
        print(f"{name:10s} {cov.kind:9s} {1000 * tp:8.2f} ms  = {100 * tp / t:5.1f}% of {1000 * t:.2f} ms")


if __name__ == "__main__":
    main()
