"""Choosing the regularization strength λ of GN/SGR on validation images only.

The SGR paper searched λ per model and does not give the values (sgr-details §2.3). Here each
candidate λ trains the method on the training split; the model is then measured on the validation
split (carved from the training file, ``advreg.data.artifact``) — clean accuracy and accuracy under the run's
white-box PGD at its first ε — and the rule below picks λ. The training and measurement never load
the test split, so the choice cannot depend on a test image.

Rule: the λ with the highest validation PGD accuracy among those whose clean validation accuracy is
within ``max_clean_drop`` points of the unregularized (``clean``) model's; when none is, the λ with
the highest clean validation accuracy.

    python -m advreg.jobs.lambda_probe config.yaml presets/quick.yaml --dataset mnist \
        --methods gn sgr_sign --lams 3 10 30 100 --out results/lambda_probe_mnist.csv
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
import torch

from advreg.attacks import whitebox as attacks
from advreg.base.device import pick_device
from advreg.data.artifact import load_dataset, to_float
from advreg.jobs.attack import attack_kwargs, eps_pixels
from advreg.jobs.train import train_job
from advreg.nn.models import load_model
from advreg.nn.predict import accuracy
from advreg.training.settings import TrainSettings
from advreg.workflow import config_check, config_views


def validation_accuracy(model_path, dataset_path, attack_cfg: dict, eps_255, n_val: int | None,
                        batch_size: int, device) -> dict:
    """Clean and PGD accuracy (%) on the validation split (true labels; the attack uses the
    model's predictions, as the white-box tables do)."""
    data = load_dataset(dataset_path, device, parts=("val",))
    x, y = to_float(data["x_val"][:n_val]), data["y_val"][:n_val]
    model, _ = load_model(model_path, device)
    gen = torch.Generator(device=device).manual_seed(0)
    x_adv = attacks.run_attack(attack_cfg.get("kind", "pgd"), model, x, eps_pixels(eps_255),
                               attack_kwargs(attack_cfg), batch_size, gen)
    return {"val_clean_acc": 100 * accuracy(model, x, y, batch_size),
            "val_pgd_acc": 100 * accuracy(model, x_adv, y, batch_size), "n_val": len(y)}


def probe(config: dict, dataset: str, data_path, methods: list[str], lams: list[float],
          n_val: int | None = 1000, device: str = "auto", log=print) -> pd.DataFrame:
    """One row per (method, λ), plus the clean baseline (λ = 0)."""
    dev = pick_device(device)
    attack_cfg = config_views.attack_cfg(config, dataset, "pgd")
    eps_255 = config["attack_settings"]["pgd"]["eps_255"][dataset][0]
    settings = TrainSettings(**config_views.train_settings(config, dataset, config["seeds"][0]))
    runs = [("clean", 0.0)] + [(m, float(lam)) for m in methods for lam in lams]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for method, lam in runs:
            cfg = config_views.method_cfg(config, dataset, method)
            if method != "clean":
                cfg["lam"] = lam
            out = Path(tmp) / f"{method}_{lam:g}"
            hist = train_job(data_path, config_views.model_spec(config, dataset, method), method, cfg, settings,
                         f"{out}.pt", f"{out}.csv", f"{out}.ck", device=str(dev), log=lambda *a: None)
            row = {"method": method, "lam": lam, "train_seconds": sum(h["seconds"] for h in hist),
                   **validation_accuracy(f"{out}.pt", data_path, attack_cfg, eps_255, n_val,
                                         config["evaluation"]["batch_size"], dev)}
            log(row)
            rows.append(row)
    return pd.DataFrame(rows)


def select(df: pd.DataFrame, max_clean_drop: float) -> pd.DataFrame:
    """Per method: the chosen λ by the module's rule (see the docstring)."""
    base = df.loc[df["method"] == "clean", "val_clean_acc"].iloc[0]
    out = []
    for method, g in df[df["method"] != "clean"].groupby("method", sort=False):
        ok = g[g["val_clean_acc"] >= base - max_clean_drop]
        rule = f"max validation PGD accuracy with clean validation accuracy ≥ {base:.1f} − {max_clean_drop:g}"
        if not len(ok):  # every λ costs more clean accuracy than allowed: the one that costs least
            ok = g[g["val_clean_acc"] == g["val_clean_acc"].max()]
            rule = f"no λ keeps clean validation accuracy ≥ {base:.1f} − {max_clean_drop:g}: the one that keeps most"
        best = ok.sort_values("val_pgd_acc", ascending=False).iloc[0]
        out.append({"method": method, "lam": best["lam"], "val_pgd_acc": best["val_pgd_acc"],
                    "val_clean_acc": best["val_clean_acc"], "clean_model_val_clean_acc": base, "rule": rule})
    return pd.DataFrame(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configfiles", nargs="+", help="config.yaml, then presets/overrides (merged in order)")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--methods", nargs="+", default=["gn", "sgr_sign"])
    ap.add_argument("--lams", nargs="+", type=float, default=[3, 10, 30, 100])
    ap.add_argument("--n-val", type=int, default=1000)
    ap.add_argument("--max-clean-drop", type=float, default=1.0, help="percentage points")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", required=True, help="CSV of every (method, λ); the choice goes beside it (_selected.csv)")
    a = ap.parse_args(argv)
    config = config_check.load(a.configfiles, log=print)
    data_path = f"{config['results_dir']}/{config['run_name']}/data/{a.dataset}.pt"
    if not Path(data_path).exists():
        raise SystemExit(f"no dataset artifact {data_path}: build it first with "
                         f"snakemake {data_path} --configfile {' '.join(a.configfiles[1:])}")
    torch.set_num_threads(config["threads"])
    df = probe(config, a.dataset, data_path, a.methods, a.lams, a.n_val, a.device)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(a.out, index=False)
    chosen = select(df, a.max_clean_drop)
    chosen.to_csv(a.out.replace(".csv", "_selected.csv"), index=False)
    print(df.round(2).to_markdown(index=False))
    print(chosen.round(2).to_markdown(index=False))


if __name__ == "__main__":
    main()
