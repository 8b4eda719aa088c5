"""The undefended model's regime against its training length (issue 26): how clean accuracy and
PGD-20 accuracy at ε = 32/255 move epoch by epoch, so a preset's epoch cut can be chosen from
measurements against the claims register's tolerances (clean ≥ 99.0 %, PGD-20 within 15 points of
the SGR paper's 24.7 %).

It trains one model with the project's own ``advreg.training.loop.train`` (so exactly what the pipeline
would train), one epoch per call (``stop_after_epoch``: the run resumes from its epoch
checkpoint, so epoch k of this curve *is* epoch k of a run configured for ``--epochs`` epochs,
learning-rate schedule included), and after each epoch measures clean accuracy and the config's
PGD attack (``attack_settings.pgd``, its white-box steps, with the project's ``advreg.attacks.whitebox``) on
the first ``--test`` official test digits, and clean accuracy on all of them too (``clean_acc_all``,
as the clean-accuracy table with evaluation.clean_max_test: null); at the epochs in ``--strong-at`` also APGD-CE
(torchattacks, the strong ensemble's first member) for a check that PGD is not the weak link.

    .venv/bin/python benchmarks/regime_curve.py --configfile presets/paper_mnist.yaml \
        --dataset-artifact results/paper_mnist/data/mnist.pt --epochs 12 --lr 0.001 \
        --lr-schedule constant --crop-pad 4 --out results/regime/constant_crop4.csv

The dataset artifact is the pipeline's own (``snakemake --configfile presets/paper_mnist.yaml
results/paper_mnist/data/mnist.pt``). Prints one row an epoch and writes them as CSV.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advreg.attacks import whitebox as attacks  # noqa: E402
from advreg.attacks.strong import strong_attack  # noqa: E402
from advreg.data.artifact import load_dataset, to_float  # noqa: E402
from advreg.jobs.attack import attack_kwargs  # noqa: E402
from advreg.jobs.train import train_job  # noqa: E402
from advreg.nn.models import build_from_spec, load_model, place  # noqa: E402
from advreg.nn.predict import accuracy  # noqa: E402
from advreg.training.settings import TrainSettings  # noqa: E402
from advreg.workflow import config_check, config_views  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configfile", nargs="*", default=[])
    ap.add_argument("--dataset-artifact", required=True)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--method", default="clean")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--lr-schedule", choices=["constant", "linear"])
    ap.add_argument("--crop-pad", type=int)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--flip", choices=["true", "false"])
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--eps-255", type=float, default=32.0)
    ap.add_argument("--strong-at", type=int, nargs="*", default=[])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)

    config = config_check.load([ROOT / "config.yaml", *a.configfile])
    st = config_views.train_settings(config, a.dataset, a.seed)
    st["epochs"] = a.epochs
    flip = None if a.flip is None else a.flip == "true"
    for key, value in (("lr", a.lr), ("lr_schedule", a.lr_schedule), ("crop_pad", a.crop_pad),
                       ("batch_size", a.batch_size), ("flip", flip)):
        if value is not None:
            st[key] = value
    settings = TrainSettings(**st)
    spec = config_views.model_spec(config, a.dataset, a.method)
    mcfg = config_views.method_cfg(config, a.dataset, a.method)
    pgd = config_views.attack_cfg(config, a.dataset, "pgd")
    eps = a.eps_255 / 255
    print(f"training {a.method} seed {a.seed}: {settings}; PGD {attack_kwargs(pgd)} at ε {a.eps_255}/255",
          flush=True)

    test = load_dataset(a.dataset_artifact, "cpu", parts=("test",))
    x, y = to_float(test["x_test"][:a.test]), test["y_test"][:a.test]
    x_all, y_all = to_float(test["x_test"]), test["y_test"]   # clean accuracy on every test digit too
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ck, model_out = tmp / "checkpoint.pt", tmp / "model.pt"
        for k in range(1, a.epochs + 1):
            t0 = time.perf_counter()
            hist = train_job(a.dataset_artifact, spec, a.method, mcfg, settings, model_out, tmp / "history.csv",
                         ck, device="cpu", log=lambda *_: None, stop_after_epoch=k)
            train_s = time.perf_counter() - t0
            if k < a.epochs:
                model = place(build_from_spec(spec), "cpu")
                model.load_state_dict(torch.load(ck, weights_only=True)["model"])
                model.eval()
            else:
                model, _ = load_model(model_out)
            t0 = time.perf_counter()
            gen = torch.Generator().manual_seed(a.seed)
            x_adv = attacks.run_attack("pgd", model, x, eps, attack_kwargs(pgd), 500, gen)
            row = {"epoch": k, "train_s": round(train_s, 1), "train_acc": hist[-1]["train_acc"],
                   "val_acc": hist[-1]["val_acc"],
                   "clean_acc": accuracy(model, x, y, 500),
                   "clean_acc_all": accuracy(model, x_all, y_all, 1000),
                   "pgd_acc": accuracy(model, x_adv, y, 500),
                   "pgd_s": round(time.perf_counter() - t0, 1)}
            if k in a.strong_at:
                t0 = time.perf_counter()
                res = strong_attack(model, x, y, eps, [{"kind": "apgd_ce", "steps": 100}], seed=a.seed)
                row["apgd_ce_acc"] = res["robust"].float().mean().item()
                row["apgd_s"] = round(time.perf_counter() - t0, 1)
            rows.append(row)
            print(", ".join(f"{key} {100 * v:.1f} %" if key.endswith("_acc") else f"{key} {v}"
                            for key, v in row.items()), flush=True)
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(a.out, index=False)


if __name__ == "__main__":
    main()
