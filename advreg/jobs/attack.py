"""Adversarial test sets: attack one trained model's test set, keep the examples, measure the
white-box accuracy (SGR paper Sec. 4.1: untargeted, predicted labels, clipped to [0, 1]).

Attack settings arrive as the config gives them: ε and step sizes of L∞ attacks, and the L2 norm
of FGM, in units of 1/255 (``*_255`` keys), as the paper reports them.
"""
from __future__ import annotations

import time

import torch

from advreg.attacks import whitebox as attacks
from advreg.base.atomic import save_torch, write_json
from advreg.base.device import pick_device
from advreg.base.progress import Progress
from advreg.base.timing import sync
from advreg.data.artifact import evaluated_on, load_dataset, to_float
from advreg.nn.models import load_for_attacks
from advreg.nn.predict import accuracy

# config key (units of 1/255) -> keyword of the attack function (pixel units)
_PIXEL_KEYS = {"step_size_255": "step_size"}
# config keys that are not attack-function keywords
_META_KEYS = {"kind", "eps_255", "transfer_steps"}


def attack_kwargs(cfg: dict, transfer: bool = False) -> dict:
    """Attack-function keywords from an attack's config entry (1/255 units -> pixels).
    ``transfer=True`` swaps in ``transfer_steps`` (the paper's transfer-table iteration count)."""
    out = {}
    for k, v in cfg.items():
        if k in _META_KEYS:
            continue
        out[_PIXEL_KEYS.get(k, k)] = v / 255 if k in _PIXEL_KEYS else v
    if transfer and "transfer_steps" in cfg:
        out["steps"] = cfg["transfer_steps"]
    return out


def eps_pixels(eps_255) -> float | None:
    return None if eps_255 in (None, "none") else float(eps_255) / 255


def make_adversarial_set(model_path, dataset_path, attack: str, cfg: dict, eps_255,
                         out_set, out_json, batch_size: int, max_test: int | None = None,
                         device: str = "auto", seed: int = 0, source: str = "", log=None) -> dict:
    """Attack ``model_path``'s view of the test set and write the adversarial set + metrics.

    The set holds ``whitebox`` examples (float16: finer than the 1/255 pixel grid) and, when the
    attack has a separate ``transfer_steps`` count, the ``transfer`` examples used off the
    diagonal of the transfer matrices.
    """
    dev = pick_device(device)
    data = load_dataset(dataset_path, dev, parts=("test",))
    x, y = to_float(data["x_test"]), data["y_test"]
    if max_test:
        x, y = x[:max_test], y[:max_test]
    model, blob = load_for_attacks(model_path, dev)
    kind = cfg.get("kind", attack)
    eps = eps_pixels(eps_255)
    gen = torch.Generator(device=dev).manual_seed(seed)
    sync(dev)   # CUDA runs asynchronously: the clock must wait for the queued work (issue 30)
    t0 = time.perf_counter()
    bar = Progress(log or (lambda *a: None), f"{attack} ε={eps_255} on {source or 'model'}", len(x), "image")
    x_adv = attacks.run_attack(kind, model, x, eps, attack_kwargs(cfg), batch_size, gen,
                               progress=lambda done: bar.update(done, force=done == len(x)))
    sync(dev)
    seconds = time.perf_counter() - t0
    # the record names its own seed, so a table over seeds groups records by it, not by file order
    metrics = {"seed": seed, "source": source, "attack": attack, "kind": kind, "eps_255": eps_255,
               "n": len(x),
               "clean_acc": 100 * accuracy(model, x, y, batch_size),
               "whitebox_acc": 100 * accuracy(model, x_adv, y, batch_size),
               "seconds": round(seconds, 3), "device": str(dev),
               "data": evaluated_on(data["meta"], len(x), blob["info"].get("n_train"))}
    if kind == "deepfool":
        metrics["deepfool_rho"] = attacks.deepfool_rho(x, x_adv)
    adv = {"whitebox": x_adv.half().cpu()}
    if "transfer_steps" in cfg and cfg["transfer_steps"] != cfg.get("steps"):
        adv["transfer"] = attacks.run_attack(kind, model, x, eps, attack_kwargs(cfg, transfer=True),
                                             batch_size, gen).half().cpu()
    save_torch(out_set, adv)
    write_json(out_json, metrics)
    return metrics
