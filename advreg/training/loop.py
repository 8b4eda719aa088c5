"""The one training loop every method shares (Adam, SGR paper App. 7.4; SGD with momentum and
early stopping for the SN paper's CIFAR-10 nets, Farnia et al. 2019, sn-details §3.3).

The whole dataset lives on the device as one uint8 tensor; batches are sliced from a per-epoch
permutation and augmented on the device. A checkpoint is kept after every epoch and a re-run resumes
from it; the job (advreg.jobs.train) writes the checkpoints, the history and the final model, which it
writes only when training finished with finite losses.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from advreg.base.device import device_signature, pick_device
from advreg.base.progress import Progress, hms
from advreg.base.provenance import code_digest, file_digest
from advreg.data.artifact import load_dataset, to_float
from advreg.nn.models import build_from_spec, place
from advreg.nn.modes import eval_mode
from advreg.nn.predict import accuracy
from advreg.sgr.covariance import data_mean_diagonal
from advreg.training import augment as aug
from advreg.training.method_kinds import implementation, method_kind
from advreg.training.methods import MethodContext, build_method
from advreg.training.settings import TrainSettings


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN/inf loss; no model is written."""


# val_acc: clean accuracy on the validation split (carved from the training file); training never
# loads the test split, so nothing it logs or selects can depend on a test image.
HISTORY_FIELDS = ["epoch", "loss", "ce", "reg", "train_acc", "val_acc", "seconds"]


def _val_accuracy(model, x_uint8: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    with eval_mode(model):
        return accuracy(model, x_uint8, y, batch_size)


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def settings_fingerprint(model_spec: dict, method_name: str, method_cfg: dict, settings: TrainSettings) -> str:
    """The fingerprint of what a run was configured with (model, method and its hyperparameters,
    schedule, seed, training-set cap): a checkpoint's ``signature_parts["settings"]``."""
    return _digest([model_spec, method_name, method_cfg, asdict(settings)])


def signature_parts(dataset_path, model_spec: dict, method_name: str, method_cfg: dict,
                    settings: TrainSettings, device: str = "cpu") -> dict[str, str]:
    """Everything that determines the trained weights, each part fingerprinted: the settings
    (model, method and its hyperparameters, schedule, seed, training-set cap), the dataset
    artifact's bytes (split, caps, files), the code of every advreg module the training imports,
    the torch version and the device (advreg.base.device.device_signature: the type, and on CUDA the GPU
    model and the numerics; a GPU run does not resume bit-identically on a CPU or another GPU model,
    nor can its random-generator state be restored there). A checkpoint resumes only when all match."""
    parts = {"settings": settings_fingerprint(model_spec, method_name, method_cfg, settings),
             "data": file_digest(dataset_path),
             "code": code_digest(__name__),
             "torch": str(torch.__version__),
             "device": device}
    cls = implementation(method_kind(method_name, method_cfg))
    if not cls.__module__.startswith("advreg."):  # a method from an extension: its file's code too
        parts["extension"] = file_digest(inspect.getsourcefile(cls))
    return parts


def _finite_or_raise(first_bad: torch.Tensor, method_name: str, epoch: int, start_epoch: int) -> str:
    """Raise NonFiniteLossError when a step of this epoch had a non-finite loss (one host read)."""
    bad = int(first_bad)
    if bad >= 0:
        raise NonFiniteLossError(
            f"{method_name}: loss is not finite at epoch {epoch + 1}, step {bad}; no model written "
            f"(last good checkpoint: epoch {start_epoch if epoch == start_epoch else epoch})")
    return ""


def _early_stop(history: list[dict], settings: TrainSettings) -> bool:
    k = settings.early_stop_epochs
    if settings.early_stop_acc is None or len(history) < k:
        return False
    return sum(r["train_acc"] for r in history[-k:]) / k >= settings.early_stop_acc


@dataclass
class Trained:
    """A finished run: the model (eval mode), its per-epoch history and the info its file records;
    ``finished`` is False when ``stop_after_epoch`` ended it early (no model is to be written)."""
    model: torch.nn.Module
    history: list[dict]
    info: dict
    finished: bool = True


def train(dataset_path: str | Path, model_spec: dict, method_name: str, method_cfg: dict,
          settings: TrainSettings, checkpoints, device: str = "auto", log=print,
          stop_after_epoch: int | None = None) -> Trained:
    """Train one (dataset, method, seed) model; writes no file itself.

    ``checkpoints`` keeps the state between epochs (advreg.jobs.train.CheckpointFile): ``load(parts,
    log)`` gives a state to resume or None, ``save(state)`` keeps one after each epoch,
    ``set_aside(tag)`` removes one that matched but cannot be restored (and names where it went).
    ``stop_after_epoch`` ends the run early (checkpoint kept, ``finished`` False) — for tests that
    simulate an interrupted job.
    """
    dev = pick_device(device)
    torch.manual_seed(settings.seed)
    data = load_dataset(dataset_path, dev, parts=("train", "val"))
    x_train, y_train = data["x_train"], data["y_train"]
    if settings.max_train:
        x_train, y_train = x_train[:settings.max_train], y_train[:settings.max_train]
    x_val, y_val = data["x_val"], data["y_val"]

    model = place(build_from_spec(model_spec), dev)
    if settings.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum)
    n = len(x_train)
    total_steps = settings.epochs * math.ceil(n / settings.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, (lambda step: max(0.0, 1.0 - step / total_steps)) if settings.lr_schedule == "linear"
        else (lambda step: 1.0))
    gen = torch.Generator(device=dev)
    gen.manual_seed(settings.seed)
    x_float = to_float(x_train)  # one float copy of the training set for both statistics
    ctx = MethodContext(device=dev, generator=gen, image_shape=tuple(x_train.shape[1:]),
                        data_mean_diag=data_mean_diagonal(x_float),
                        data_mean_norm=x_float.flatten(1).norm(dim=1).mean().item())
    del x_float
    method = build_method(method_name, method_cfg, ctx)

    parts = signature_parts(dataset_path, model_spec, method_name, method_cfg, settings, device_signature(dev))
    history: list[dict] = []
    start_epoch = 0
    ck = checkpoints.load(parts, log)
    if ck is not None:
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            sched.load_state_dict(ck["scheduler"])
            method.load_state_dict(ck["method"])
            gen.set_state(ck["generator"].to(gen.get_state().device))
            history, start_epoch = ck["history"], ck["epoch"]
            log(f"resuming {method_name} from epoch {start_epoch} ({checkpoints})")
        except Exception as e:  # noqa: BLE001 - a checkpoint that matches but cannot be restored
            dest = checkpoints.set_aside("stale")
            log(f"WARNING: checkpoint {checkpoints} matches but cannot be restored "
                f"({type(e).__name__}: {e}); moved to {dest}; training starts from scratch")
            return train(dataset_path, model_spec, method_name, method_cfg, settings, checkpoints, device, log,
                         stop_after_epoch)

    steps_per_epoch = math.ceil(n / settings.batch_size)
    log(f"{method_name}: {n} training images, {steps_per_epoch} steps an epoch, epochs "
        f"{start_epoch + 1}-{settings.epochs} to run on {dev}")
    # the hyperparameters this model is trained with, as the config resolved them (issue 29)
    log(f"{method_name} hyperparameters: " + ", ".join(f"{k} {v}" for k, v in method_cfg.items())
        + "; training: " + ", ".join(f"{k} {v}" for k, v in asdict(settings).items()))
    run_t0 = time.perf_counter()
    for epoch in range(start_epoch, settings.epochs):
        if _early_stop(history, settings):  # resumed from a checkpoint written at the stopping epoch
            break
        model.train()
        t0 = time.perf_counter()
        within = Progress(log, f"{method_name} epoch {epoch + 1}/{settings.epochs}", steps_per_epoch)
        perm = torch.randperm(n, device=dev, generator=gen)
        # statistics stay on the device, summed there and read once per logging interval (and at
        # the epoch's end): no host sync per step (issue 30). `first_bad` is the first step whose
        # loss was not finite (-1: none), checked at those points, before any checkpoint is saved.
        sums = {key: torch.zeros((), device=dev, dtype=torch.float64) for key in ("loss", "ce", "reg", "correct")}
        first_bad = torch.full((), -1, device=dev, dtype=torch.long)
        done = 0
        for step, i in enumerate(range(0, n, settings.batch_size)):
            idx = perm[i:i + settings.batch_size]
            xb = aug.augment(to_float(x_train[idx]), settings.crop_pad, settings.flip,
                             settings.fill, gen)
            loss, logs = method.loss(model, xb, y_train[idx])
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss.detach()), step, first_bad)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            k = len(idx)
            done += k
            # in float64, as the Python floats these sums were before (the same history values)
            sums["loss"] += loss.detach().double() * k
            sums["ce"] += torch.as_tensor(logs["ce"], device=dev).double() * k
            sums["reg"] += torch.as_tensor(logs["reg"], device=dev).double() * k
            sums["correct"] += logs["correct"]
            within.update(step + 1, note=lambda: _finite_or_raise(first_bad, method_name, epoch, start_epoch)
                          or f"loss {sums['loss'].item() / done:.4f}")
        _finite_or_raise(first_bad, method_name, epoch, start_epoch)
        sums = {key: v.item() for key, v in sums.items()}
        if dev.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        row = {"epoch": epoch + 1, "loss": sums["loss"] / n, "ce": sums["ce"] / n,
               "reg": sums["reg"] / n, "train_acc": sums["correct"] / n,
               "val_acc": _val_accuracy(model, x_val, y_val, settings.eval_batch_size),
               "seconds": round(seconds, 3)}
        history.append(row)
        per_epoch = (time.perf_counter() - run_t0) / (epoch + 1 - start_epoch)
        log(f"{method_name} epoch {row['epoch']}/{settings.epochs}: loss {row['loss']:.4f} "
            f"reg {row['reg']:.4g} train {100 * row['train_acc']:.2f} % val {100 * row['val_acc']:.2f} % ({seconds:.1f}s, "
            f"{steps_per_epoch / seconds:.3g} steps/s, ETA {hms(per_epoch * (settings.epochs - epoch - 1))})")
        checkpoints.save({
            "signature_parts": parts, "epoch": epoch + 1, "model": model.state_dict(),
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "method": method.state_dict(), "generator": gen.get_state(), "history": history})
        if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch and epoch + 1 < settings.epochs:
            return Trained(model, history, {}, finished=False)
        if _early_stop(history, settings):
            log(f"{method_name}: early stop at epoch {epoch + 1} (mean train accuracy of the last "
                f"{settings.early_stop_epochs} epochs ≥ {100 * settings.early_stop_acc:g} %)")
            break

    model.eval()
    info = {"method": method_name, "method_cfg": method_cfg, "settings": asdict(settings),
            "dataset": data["meta"], "n_train": n, "device": str(dev), "final": history[-1] if history else {},
            "data_mean_norm": ctx.data_mean_norm,  # E‖X‖₂: the SN schemes' ε and γ scale
            "signature_parts": parts}  # the settings, data, code and torch it was trained with
    return Trained(model, history, info)
