"""The generalization-gap experiments of the SN paper (Farnia, Zhang & Tse 2019, Sec. 4, the
appendix table and the margin figure; sn-details §2.3, §4, §5.3).

Every (scheme, β) model is measured the way the authors' ``build_graph_and_get_acc`` and
``analysis.compute_margins`` do:
- accuracy *under the scheme's own training attack at the training ε* (ERM: clean accuracy), with
  the model's predicted labels, on training points, on the validation set that picks β* (the first
  ``val`` images of the validation split carved from the training file; argmax of validation
  accuracy, β = ∞ included) and on the official test set;
- the adversarial generalization gap = train − test accuracy;
- the margin-bound quantities: layer spectral norms s_k of the effective weights, ∏ s_k, and the
  margins f(x)[y] − max_{j≠y} f(x)[j] on (adversarially perturbed, as the scheme trains) training
  points, normalized by Γ (mode 1 for ERM/WRM, mode 2 for FGM/PGM, with the Frobenius correction).

β = ∞ is the same network without SN (the authors' baseline).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from advreg.base.atomic import atomic_path, write_json
from advreg.base.device import pick_device
from advreg.data.artifact import head, load_dataset, to_float
from advreg.nn.models import load_model
from advreg.nn.predict import share
from advreg.nn.sn_modes import beta_label
from advreg.nn.spectral import bound_quantities, frozen_for_attacks, margin_normalizer, margins
from advreg.training.method_kinds import method_kind
from advreg.training.methods import MethodContext, build_method

SCHEME_LABELS = {"clean": "ERM", "fgm": "FGM", "pgm": "PGM", "wrm": "WRM"}
# analysis.py compute_margins: mode 2 (the FGM/PGM bound's smoothness factor) for FGM and PGM,
# mode 1 (∏ s_k) for ERM; WRM's bound has no such factor, so it gets mode 1 too.
NORMALIZER_MODE = {"clean": 1, "fgm": 2, "pgm": 2, "wrm": 1}


def scheme_attack(method_name: str, method_cfg: dict, image_shape, data_mean_norm: float, device):
    """The perturbation a scheme trains on, as a function of (model, x) — the registry's own
    method object, so evaluation attacks exactly as training did. None for non-adversarial kinds."""
    ctx = MethodContext(device=torch.device(device), generator=torch.Generator(device=device),
                        image_shape=tuple(image_shape), data_mean_diag=1.0, data_mean_norm=data_mean_norm)
    method = build_method(method_name, method_cfg, ctx)
    return getattr(method, "adversarial", None)


def _adversarial_logits(model, x_uint8: torch.Tensor, attack, batch_size: int) -> torch.Tensor:
    """Logits on ``attack(model, x)`` batch by batch; ``attack=None``: on the clean images."""
    out = []
    for i in range(0, len(x_uint8), batch_size):
        x = to_float(x_uint8[i:i + batch_size])
        if attack is not None:
            x = attack(model, x).detach()
        with torch.no_grad():
            out.append(model(x))
    return torch.cat(out)


def evaluate_sn_job(model_path, dataset_path, val: int, train_eval: int, max_test: int | None,
                    batch_size: int, margin_iters: int, device: str, row_out, margins_out) -> dict:
    """The evaluate_sn job: one model's row (JSON) and its training-set margins (.npy), both
    written atomically."""
    row, m = evaluate_sn_model(model_path, dataset_path, val, train_eval, max_test, batch_size,
                               margin_iters, device)
    with atomic_path(margins_out) as tmp, open(tmp, "wb") as f:
        np.save(f, m)
    write_json(row_out, row)
    return row


def evaluate_sn_model(model_path, dataset_path, val: int, train_eval: int, max_test: int | None,
                      batch_size: int, margin_iters: int = 20, device: str = "auto") -> tuple[dict, np.ndarray]:
    """One row of the SN table plus the training-set margins (raw) of one trained model."""
    dev = pick_device(device)
    model, blob = load_model(model_path, dev)
    info = blob["info"]
    data = load_dataset(dataset_path, dev)
    settings = info["settings"]
    x_tr, y_tr = head(data, "train", settings.get("max_train"))
    x_te, y_te = head(data, "test", max_test)
    if val > len(data["x_val"]):
        raise ValueError(f"sn_experiments.val={val} exceeds the {len(data['x_val'])} validation images "
                         f"of the dataset (data.val)")
    x_tr, y_tr = x_tr[:train_eval], y_tr[:train_eval]
    # validation: the first `val` images of the split carved from the training file; test: the
    # official test images — β* never sees a test image
    splits = {"train": (x_tr, y_tr), "val": (data["x_val"][:val], data["y_val"][:val]), "test": (x_te, y_te)}

    name, cfg = info["method"], info["method_cfg"]
    kind = method_kind(name, cfg)
    attack = scheme_attack(name, cfg, x_tr.shape[1:], info["data_mean_norm"], dev)
    row = {"method": name, "arch": blob["spec"]["arch"], "seed": int(settings["seed"]),
           "scheme": SCHEME_LABELS.get(kind, kind), "kind": kind,
           "beta": beta_label(cfg.get("spectral_norm", {}).get("beta", math.inf)),
           "epochs_trained": int(info["final"].get("epoch", 0))}
    train_logits = None
    with frozen_for_attacks(model):   # each effective weight once, not per attack forward
        for split, (x, y) in splits.items():
            logits = _adversarial_logits(model, x, attack, batch_size)
            clean = logits if attack is None else _adversarial_logits(model, x, None, batch_size)
            row[f"{split}_adv_acc"] = share(logits.argmax(1) == y)
            row[f"{split}_clean_acc"] = share(clean.argmax(1) == y)
            if split == "train":
                train_logits = logits
    row["gap"] = row["train_adv_acc"] - row["test_adv_acc"]

    q = bound_quantities(model, tuple(x_tr.shape[1:]), iters=margin_iters)
    m = margins(train_logits, y_tr).double().cpu().numpy()
    gamma = margin_normalizer(q, mode=NORMALIZER_MODE.get(kind, 1))
    row.update({"spectral_product": q["spectral_product"], "layer_norms": " ".join(f"{s:.4g}" for s in q["spectral_norms"]),
                "frob_ratio_sum": q["frob_ratio_sum_authors"], "normalizer": gamma,
                "margin_median": float(np.median(m)), "normalized_margin_median": float(np.median(m) / gamma),
                "n_train": len(x_tr), "n_val": val, "n_test": len(x_te)})
    return row, m

