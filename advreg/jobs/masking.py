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

import torch

from advreg.attacks import strong as strong_attack
from advreg.attacks import whitebox as attacks
from advreg.base.atomic import write_json
from advreg.base.device import pick_device
from advreg.data.artifact import test_split, to_float
from advreg.jobs.attack import attack_kwargs, eps_pixels
from advreg.nn.models import load_for_attacks
from advreg.nn.predict import accuracy, predicted_labels, share


def _acc(model, x, y, batch_size) -> float:
    return 100 * accuracy(model, x, y, batch_size)


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
        # `attacked`: how many images each attack of the ensemble ran on (it attacks only those still
        # robust), what its cost depends on (advreg.workflow.cost.masking_diagnostics_work)
        sweep.append({"eps_255": float(e), "paper_attack": _acc(model, adv, y, batch_size),
                      "strong": 100 * share(strong["robust"]),
                      "attacked": [st["attacked"] for st in strong["steps"]]})
    eps = eps_pixels(paper_eps_255)
    base = attacks.run_attack("pgd", model, x, eps, {**kw, "y": y}, batch_size, gen)
    robust = predicted_labels(model, base, batch_size) == y
    long_kw = {**kw, "steps": kw["steps"] * steps_factor, "random_start": True, "y": y}
    for _ in range(restarts):
        adv = attacks.run_attack("pgd", model, x, eps, long_kw, batch_size, gen)
        robust &= predicted_labels(model, adv, batch_size) == y
    return {"n": len(x), "sweep": sweep, "paper_eps_255": float(paper_eps_255),
            "pgd": _acc(model, base, y, batch_size), "pgd_long": 100 * share(robust),
            "pgd_steps": kw["steps"], "pgd_long_steps": kw["steps"] * steps_factor, "restarts": restarts}


def diagnose(model_path, dataset_path, strong_json, out_json, eps_255, cfg: dict, pgd_cfg: dict,
             batch_size: int, device: str = "auto", seed: int = 0, source: str = "") -> dict:
    """The diagnostics job: ``measure`` on the first ``cfg['max_test']`` test images, written to
    ``out_json`` with the model's strong-evaluation summary (the flags are set in ``flags_table``,
    which also reads the transfer matrices, so a changed matrix never re-runs these attacks)."""
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

