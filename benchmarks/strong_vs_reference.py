"""Is the pipeline's strong evaluation at least as strong as an independent reference run?

On every trained model of a run (its data artifact and model files), compare
- ours: advreg.attacks.strong with the preset's ``strong_eval.attacks`` (the pipeline's loop), and
- the reference: torchattacks' own ``MultiAttack`` wrapper (not our loop) over APGD-CE (100 steps),
  APGD-T (100 steps, 3 target classes) and Square (1,000 queries), the combination of issue 12,
on the same first ``--n`` official test images, true labels, L∞ ε = ``--eps`` /255. Prints one row per
model: clean, ours, reference, ours − reference (target: ≤ 1 point), and both times.

    .venv/bin/python benchmarks/strong_vs_reference.py results/quick presets/quick.yaml --n 300 \
        --models clean pgd gn sgr_sign fgsm_sgr pgd_sgr
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch
import torchattacks
import yaml

from advreg.attacks.strong import strong_attack
from advreg.data.artifact import load_dataset, to_float
from advreg.nn.models import load_model


def reference(model, x, y, eps, seed):
    atks = [torchattacks.APGD(model, norm="Linf", eps=eps, steps=100, n_restarts=1, seed=seed, loss="ce"),
            torchattacks.APGDT(model, norm="Linf", eps=eps, steps=100, n_restarts=1, seed=seed, n_classes=4),
            torchattacks.Square(model, norm="Linf", eps=eps, n_queries=1000, n_restarts=1, seed=seed)]
    adv = torchattacks.MultiAttack(atks)(x, y)
    with torch.no_grad():
        return (model(adv).argmax(1) == y).float().mean().item() * 100


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("preset", type=Path)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--eps", type=float, default=32)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ensemble = yaml.safe_load(a.preset.read_text())["strong_eval"]["attacks"]
    data = load_dataset(a.run_dir / "data" / f"{a.dataset}.pt", torch.device("cpu"), parts=("test",))
    x, y = to_float(data["x_test"])[:a.n], data["y_test"][:a.n]
    eps = a.eps / 255
    rows = []
    for m in a.models:
        model, _ = load_model(a.run_dir / "models" / a.dataset / m / f"seed{a.seed}" / "model.pt")
        t0 = time.perf_counter()
        out = strong_attack(model, x, y, eps, ensemble, seed=a.seed, batch_size=500)
        t1 = time.perf_counter()
        ref = reference(model, x, y, eps, a.seed)
        t2 = time.perf_counter()
        ours = 100 * out["robust"].float().mean().item()
        rows.append({"model": m, "clean": 100 * out["clean_correct"].float().mean().item(), "ours": ours,
                     "reference": ref, "ours_minus_reference": ours - ref,
                     "ours_s": round(t1 - t0, 1), "reference_s": round(t2 - t1, 1)})
        print(pd.DataFrame(rows[-1:]).round(2).to_string(index=False, header=len(rows) == 1), flush=True)
    df = pd.DataFrame(rows).set_index("model").round(2)
    print(df.to_markdown())
    if a.out:
        df.to_csv(a.out)


if __name__ == "__main__":
    main()
