"""Gradient-masking diagnostics (Athalye, Carlini, Wagner 2018; Carlini et al. 2019, "On Evaluating
Adversarial Robustness", Sec. 5): measurements on one model, and the checks that flag it.

Measured per model on a few test images (true labels), with the paper's PGD and the strong ensemble:
- accuracy against ε, up to an ε that destroys the image (ε = 128/255 lets every pixel reach 0.5);
- the paper's PGD against 10× its steps with random restarts at the paper's ε.
Checked (each a flag: True = a sign of masking or of a too-weak attack):
- ``not_monotone``: accuracy rises by more than ``tol`` points from one ε to a larger one;
- ``no_chance_at_destroy``: accuracy at the destroying ε above chance + ``tol``;
- ``more_steps_help``: 10× steps and restarts lower the accuracy by more than ``tol``;
- ``black_box_stronger``: Square breaks images the gradient attacks left (more than ``tol`` points),
  or the best transfer source beats the white-box attack by more than ``tol``;
- ``strong_gap``: the strong ensemble is more than ``gap_tol`` points below the paper's attack.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from advreg.atomic import write_json
from advreg import attacks
from advreg.attacks import share
from advreg import strong_attack
from advreg.jobs.attack import attack_kwargs, eps_pixels


def _acc(model, x, y, batch_size) -> float:
    return 100 * attacks.accuracy(model, x, y, batch_size)


def measure(model, x, y, eps_255: list, paper_eps_255, pgd_cfg: dict, strong_ensemble: list[dict],
            steps_factor: int, restarts: int, batch_size: int, seed: int = 0) -> dict:
    """Accuracy (%) vs ε under the paper's PGD (true labels) and the strong ensemble, and PGD with
    ``steps_factor``× steps and ``restarts`` random restarts at the paper's ε (worst over restarts)."""
    kw = attack_kwargs(pgd_cfg)
    gen = torch.Generator(device=x.device).manual_seed(seed)
    sweep = []
    for e in eps_255:
        eps = eps_pixels(e)
        # step size scales with ε so that every ε gets the same number of steps across the ball
        step = kw["step_size"] * eps / eps_pixels(paper_eps_255)
        adv = attacks.run_attack("pgd", model, x, eps, {**kw, "step_size": step, "y": y}, batch_size, gen)
        strong = strong_attack.strong_attack(model, x, y, eps, strong_ensemble, seed=seed, batch_size=batch_size)
        sweep.append({"eps_255": float(e), "paper_attack": _acc(model, adv, y, batch_size),
                      "strong": 100 * share(strong["robust"])})
    eps = eps_pixels(paper_eps_255)
    base = attacks.run_attack("pgd", model, x, eps, {**kw, "y": y}, batch_size, gen)
    robust = attacks.predicted_labels(model, base, batch_size) == y
    long_kw = {**kw, "steps": kw["steps"] * steps_factor, "random_start": True, "y": y}
    for _ in range(restarts):
        adv = attacks.run_attack("pgd", model, x, eps, long_kw, batch_size, gen)
        robust &= attacks.predicted_labels(model, adv, batch_size) == y
    return {"n": len(x), "sweep": sweep, "paper_eps_255": float(paper_eps_255),
            "pgd": _acc(model, base, y, batch_size), "pgd_long": 100 * share(robust),
            "pgd_steps": kw["steps"], "pgd_long_steps": kw["steps"] * steps_factor, "restarts": restarts}


def flags(measured: dict, strong: dict, transfer_row: dict | None, num_classes: int = 10,
          tol: float = 2.0, gap_tol: float = 5.0) -> dict:
    """The checks of the module docstring from ``measure``'s output, the model's strong-evaluation
    metrics (advreg.jobs.strong) and its row of the transfer matrix (source -> accuracy; the
    diagonal entry is the white-box one)."""
    out = {}
    for col in ("paper_attack", "strong"):
        accs = [s[col] for s in sorted(measured["sweep"], key=lambda s: s["eps_255"])]
        out[f"not_monotone_{col}"] = bool(np.any(np.diff(accs) > tol))
        out[f"no_chance_at_destroy_{col}"] = bool(accs[-1] > 100 / num_classes + tol)
    out["more_steps_help"] = bool(measured["pgd"] - measured["pgd_long"] > tol)
    # what the black-box attacks (Square: advreg.strong_kinds) broke after the gradient attacks
    square = [s for s in strong["steps"] if s["black_box"]]
    square_pts = 100 * sum(s["broken"] for s in square) / strong["n"]
    out["square_breaks"] = round(square_pts, 2)
    best_transfer = None
    if transfer_row:
        own = transfer_row.pop("__self__")
        best_transfer = min(transfer_row.values()) if transfer_row else None
        out["best_transfer_minus_whitebox"] = round(best_transfer - own, 2) if best_transfer is not None else None
    out["black_box_stronger"] = bool(square_pts > tol or (best_transfer is not None and
                                                         out["best_transfer_minus_whitebox"] < -tol))
    out["strong_gap"] = bool(strong["paper_acc"] - strong["strong_acc"] > gap_tol)
    out["any_flag"] = any(v for k, v in out.items() if isinstance(v, bool))
    return out


def transfer_row(matrix_csv, source: str) -> dict | None:
    """The model's row of a transfer matrix: other sources' accuracies and ``__self__`` (white-box)."""
    import pandas as pd

    if matrix_csv is None:
        return None
    m = pd.read_csv(matrix_csv, index_col=0)
    if source not in m.index or source not in m.columns:
        return None
    row = {c: float(m.loc[source, c]) for c in m.columns if c not in ("test", source)}
    row["__self__"] = float(m.loc[source, source])
    return row


def diagnose(model_path, dataset_path, strong_json, out_json, eps_255, cfg: dict, pgd_cfg: dict,
             batch_size: int, device: str = "auto", seed: int = 0, source: str = "") -> dict:
    """The diagnostics job: ``measure`` on the first ``cfg['max_test']`` test images, written to
    ``out_json`` with the model's strong-evaluation summary (the flags are set in ``flags_table``,
    which also reads the transfer matrices, so a changed matrix never re-runs these attacks)."""
    from advreg.data import to_float
    from advreg.io import test_split
    from advreg.models import load_for_attacks
    from advreg.io import pick_device

    dev = pick_device(device)
    x, y, _ = test_split(dataset_path, dev, cfg["max_test"])
    x = to_float(x)
    model, _ = load_for_attacks(model_path, dev)
    measured = measure(model, x, y, cfg["eps_255"], eps_255, pgd_cfg, cfg["sweep_attacks"],
                       cfg["steps_factor"], cfg["restarts"], batch_size, seed)
    strong = json.loads(Path(strong_json).read_text())
    out = {"source": source, "seed": seed, "eps": str(eps_255), **measured,
           "strong": {k: strong[k] for k in ("n", "steps", "paper_acc", "strong_acc")}}
    write_json(out_json, out)
    return out


FLAG_COLUMNS = ["not_monotone_paper_attack", "not_monotone_strong", "no_chance_at_destroy_paper_attack",
                "no_chance_at_destroy_strong", "more_steps_help", "black_box_stronger", "strong_gap"]


def flags_table(records: list[dict], methods: list[str], matrices: dict | None = None,
                tol: float = 2.0, gap_tol: float = 5.0):
    """One row per (model, seed): the measurements behind each check and its flag.
    ``matrices``: (seed, ε) -> transfer-matrix CSV of the paper attack, where the run has one."""
    import pandas as pd

    rows = []
    for r in records:
        matrix = (matrices or {}).get((str(r["seed"]), r["eps"]))
        f = flags(r, r["strong"], transfer_row(matrix, r["source"]), tol=tol, gap_tol=gap_tol)
        # two evaluations, each with its own images: the strong evaluation's accuracies, then the
        # diagnostics' own sweeps (issue 29: every column states the images it was measured on)
        rows.append({"model": r["source"], "seed": r["seed"], "strong_eval_images": r["strong"].get("n"),
                     "paper_attack": round(r["strong"]["paper_acc"], 1), "strong": round(r["strong"]["strong_acc"], 1),
                     "diagnostic_images": r["n"],
                     f"pgd{r['pgd_steps']}": round(r["pgd"], 1),
                     f"pgd{r['pgd_long_steps']}x{r['restarts']}": round(r["pgd_long"], 1),
                     "square_breaks": f["square_breaks"],
                     "best_transfer_minus_whitebox": f.get("best_transfer_minus_whitebox"),
                     **{c: "FLAG" if f[c] else "ok" for c in FLAG_COLUMNS}, "any_flag": f["any_flag"]})
    df = pd.DataFrame(rows)
    df["order"] = df["model"].map({m: i for i, m in enumerate(methods)})
    return df.sort_values(["order", "seed"]).drop(columns="order").set_index("model")
