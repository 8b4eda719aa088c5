"""Step time of every training method on the same batch, as a ratio to `clean`, and the share of an
SGR step spent in the covariance product Σ·g (forward and its backward through double backprop).

    python benchmarks/bench_methods.py --dataset cifar10 --device cuda --batch 128

Methods and their hyperparameters come from config.yaml (the paper settings); ``--pgd-steps``
overrides attack loop lengths to show the cost at another setting.
"""
from __future__ import annotations

import argparse
import copy

import torch
import yaml

from advreg.base.timing import seconds_per_call
from advreg.data.sources import DATASETS
from advreg.nn.models import build_model
from advreg.training.methods import MethodContext, build_method
from advreg.workflow import config_views


def time_steps(fn, dev, repeats):
    # two warm-up steps: allocations, cuDNN autotune, the first covariance estimate
    return seconds_per_call(fn, dev, calls=repeats, warmup=2)


def measure(config: dict, dataset: str, device: str, batch: int, repeats: int,
            pgd_steps: int | None = None) -> tuple[list[dict], list[dict]]:
    """Per method: ms per training step and its ratio to ``clean``; per SGR method with a
    non-identity Σ̂: the covariance product's ms and share of that method's step."""
    dev = torch.device(device)
    c, h, w = DATASETS[dataset].shape
    widths = config["dataset_settings"][dataset]["widths"]
    g = torch.Generator(device=dev).manual_seed(0)
    x = torch.rand(batch, c, h, w, device=dev, generator=g)
    y = torch.randint(0, 10, (batch,), device=dev, generator=g)
    ctx = MethodContext(device=dev, generator=g, image_shape=(c, h, w), data_mean_diag=0.1)

    results = {}
    for name in config["methods"]:
        cfg = copy.deepcopy(config_views.method_cfg(config, dataset, name))
        if pgd_steps and "steps" in cfg:
            cfg["steps"] = pgd_steps
        torch.manual_seed(0)
        model = build_model(config["dataset_settings"][dataset]["arch"], c, h, widths).to(dev)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        method = build_method(name, cfg, ctx)

        def step():
            loss, _ = method.loss(model, x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        results[name] = (time_steps(step, dev, repeats), method)

    base = results["clean"][0] if "clean" in results else next(iter(results.values()))[0]
    steps = [{"method": n, "ms": 1000 * t, "x_clean": t / base} for n, (t, _) in results.items()]
    # Covariance product share: time Σ·g forward + backward (as inside the double-backprop graph)
    # for each SGR method's estimated Σ̂, against that method's full step.
    gx = torch.randn(batch, c, h, w, device=dev, generator=g, requires_grad=True)
    covs = []
    for name, (t, method) in results.items():
        cov = getattr(method, "cov", None)
        if cov is None or cov.kind == "identity":
            continue

        def product():
            out = cov.apply(gx)
            (gx.grad,) = (None,)
            (out * gx).sum().backward()

        tp = time_steps(product, dev, repeats)
        covs.append({"method": name, "kind": cov.kind, "ms": 1000 * tp, "share": tp / t, "step_ms": 1000 * t})
    return steps, covs


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
    steps, covs = measure(config, args.dataset, args.device, args.batch, args.repeats, args.pgd_steps)
    print(f"device={args.device} dataset={args.dataset} batch={args.batch} torch={torch.__version__}")
    print(f"{'method':10s} {'ms/step':>9s} {'× clean':>8s}")
    for r in steps:
        print(f"{r['method']:10s} {r['ms']:9.2f} {r['x_clean']:8.2f}")
    print("\ncovariance product Σ·g (forward + backward) as a share of the SGR step:")
    for r in covs:
        print(f"{r['method']:10s} {r['kind']:9s} {r['ms']:8.2f} ms  = {100 * r['share']:5.1f}% of {r['step_ms']:.2f} ms")


if __name__ == "__main__":
    main()
