"""Strong-evaluation jobs: one model's accuracy under the strong ensemble (advreg.attacks.strong)
on the same test images as the paper's attack, and the table that sets the two side by side.

Every number is a true-label accuracy in % on the first ``max_test`` official test images; the
paper's attack number comes from the adversarial-set metrics of the same model (the paper's
PGD uses the model's predicted labels, SGR paper Sec. 4.1, so on a correctly classified image
the two agree and a misclassified clean image counts as broken for both).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from advreg.attacks import strong as strong_attack
from advreg.attacks import strong_kinds
from advreg.base.atomic import write_json
from advreg.base.device import pick_device
from advreg.base.timing import sync
from advreg.data.artifact import evaluated_on, test_split, to_float
from advreg.jobs.attack import eps_pixels
from advreg.nn.models import load_for_attacks
from advreg.nn.predict import predicted_labels, share


def _elapsed(t0: float, dev) -> float:
    """Seconds since ``t0`` once the device's queued work is done."""
    sync(dev)
    return time.perf_counter() - t0


def evaluate_strong(model_path, dataset_path, paper_set, paper_json, eps_255, ensemble: list[dict],
                    out_json, batch_size: int, max_test: int | None = None, device: str = "auto",
                    seed: int = 0, source: str = "", log=None) -> dict:
    """Run the ensemble on one model and write its metrics: clean, paper-attack (re-measured on
    the same images from the model's adversarial set ``paper_set``) and strong accuracy, the worst
    of both per image, the per-attack breakdown, seconds, the per-image robust flags (0/1)."""
    dev = pick_device(device)
    x, y, meta = test_split(dataset_path, dev, max_test)
    x = to_float(x)
    model, blob = load_for_attacks(model_path, dev)
    paper = json.loads(Path(paper_json).read_text())
    x_paper = torch.load(paper_set, map_location=dev, weights_only=True)["whitebox"].float()
    if len(x_paper) < len(x):
        raise ValueError(f"{paper_set} holds {len(x_paper)} adversarial examples, the strong "
                         f"evaluation needs {len(x)}: strong_eval.max_test must not exceed "
                         f"evaluation.max_test")
    x_paper = x_paper[:len(x)]
    paper_correct = predicted_labels(model, x_paper, batch_size) == y
    sync(dev)   # the cost ratio's clock waits for queued CUDA work
    t0 = time.perf_counter()
    out = strong_attack.strong_attack(model, x, y, eps_pixels(eps_255), ensemble, seed=seed,
                                      batch_size=batch_size, log=log)
    metrics = {"source": source, "seed": int(seed), "eps_255": eps_255, "n": len(x),
               "ensemble": [strong_kinds.label(e) for e in ensemble],
               "clean_acc": 100 * share(out["clean_correct"]),
               "paper_attack": f"{paper['attack']}", "paper_acc": 100 * share(paper_correct),
               "strong_acc": 100 * share(out["robust"]),
               "worst_acc": 100 * share(out["robust"] & paper_correct),
               "steps": out["steps"], "seconds": round(_elapsed(t0, dev), 3), "device": str(dev),
               # the paper attack's time on these images (its job attacked paper['n'] of them)
               "paper_seconds": round(paper["seconds"] * len(x) / paper["n"], 3),
               "robust": "".join("1" if r else "0" for r in out["robust"].tolist()),
               "data": evaluated_on(meta, len(x), blob["info"].get("n_train"))}
    write_json(out_json, metrics)
    return metrics

