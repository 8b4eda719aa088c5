"""Strong white-box evaluation: an AutoAttack-style ensemble (Croce & Hein 2020) built from the
maintained torchattacks implementations, worst case per image.

Each attack of the ensemble runs only on the images that every earlier attack left correctly
classified (AutoAttack's own trick: the cost is bounded by the robust images, not the test set).
An image counts as broken only when the returned example is verified here: inside the L∞ ball of
radius ε around the clean image, inside [0, 1], and misclassified by the model. So a library bug
can make the evaluation weaker, never falsely stronger.

The ensemble is a list of entries ``{kind, steps | queries, targets, restarts}``; the config's
``strong_eval.ensembles.standard`` is AutoAttack's "standard" version with the fra31/auto-attack
settings (APGD-CE 100 steps; APGD-T and FAB-T 100 steps, 9 target classes; Square 5,000 queries).
torchattacks' own ``AutoAttack`` class uses its attacks' default 10 steps instead, which is why
the ensemble is assembled here with explicit settings (``tests/unit/test_strong_attack.py`` checks
that, given torchattacks' settings, this loop returns exactly what ``torchattacks.AutoAttack``
does).
"""
from __future__ import annotations

import time

import torch
from torch import nn

from advreg.attacks import strong_kinds
from advreg.nn.predict import predicted_labels

# Each entry's kind, parameters, defaults and builder: advreg.attacks.strong_kinds (declared once).


def verified_wrong(model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor,
                   eps: float, batch_size: int, tol: float = 1e-5) -> torch.Tensor:
    """Which ``x_adv`` are valid adversarial examples: within ε (L∞) of ``x`` (``tol`` for float
    rounding), in [0, 1], and misclassified."""
    dist = (x_adv - x).flatten(1).abs().amax(1)
    in_box = (x_adv.flatten(1).amin(1) >= -tol) & (x_adv.flatten(1).amax(1) <= 1 + tol)
    return (dist <= eps + tol) & in_box & (predicted_labels(model, x_adv, batch_size) != y)


def strong_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
                  ensemble: list[dict], seed: int = 0, batch_size: int = 500, log=None) -> dict:
    """Run ``ensemble`` in order on the images still robust; return per-image results.

    Returns ``robust`` (bool, per image: correct after every attack), ``x_adv`` (the first valid
    adversarial example found, the clean image where none), ``clean_correct``, and ``steps``: per
    entry, its label, how many images it attacked, how many it broke and its seconds.
    """
    model.eval()
    x, y = x.detach(), y.detach()
    clean_correct = predicted_labels(model, x, batch_size) == y
    robust = clean_correct.clone()
    x_adv = x.clone()
    steps = []
    for entry in ensemble:
        idx = robust.nonzero().flatten()
        t0 = time.perf_counter()
        broken = 0
        if len(idx):
            atk = strong_kinds.build(model, entry, eps, seed)
            for i in range(0, len(idx), batch_size):
                b = idx[i:i + batch_size]
                adv = atk(x[b], y[b]).detach()
                wrong = verified_wrong(model, x[b], adv, y[b], eps, batch_size)
                x_adv[b[wrong]] = adv[wrong]
                robust[b[wrong]] = False
                broken += int(wrong.sum())
        steps.append({"attack": strong_kinds.label(entry), "black_box": strong_kinds.KINDS[entry["kind"]].black_box,
                      "attacked": len(idx), "broken": broken,
                      "seconds": round(time.perf_counter() - t0, 3)})
        if log:
            log(f"{steps[-1]['attack']}: broke {broken} of {len(idx)} robust images "
                f"in {steps[-1]['seconds']:.1f} s")
    return {"robust": robust, "x_adv": x_adv, "clean_correct": clean_correct, "steps": steps}
