"""Cost model of a reproduction: the FLOPs of every job of a planned DAG, and its predicted time.

A job's FLOPs are its count of passes, read from the config (epochs × steps × the method's cost per
step; attack steps × images; LRC k × ζ × ε × images; ...), times the FLOPs of one pass of its
architecture. Every FLOP count comes from ``torch.utils.flop_counter.FlopCounterMode`` on the real
model (and, for a training step, on the real method's loss and backward: double backprop, the
inner PGD loop and the covariance update are counted as they run), never derived by hand.

Time = fixed cost + FLOPs / throughput. The throughput (FLOP/s of each method's training step and
of an attack batch) is measured by ``calibrate`` and ``calibrate_methods`` on the device at hand,
or given (a stated GPU throughput). The fixed cost of a job of each rule (start-up, reading the
dataset and the model, first-call set-up, writing its outputs) is measured by a calibration run of
the tiny preset (``fixed_seconds``; benchmarks/cost_model.py runs it), or given (start-up only).

What the model cannot know before the run, and assumes (each a named constant below):
- how many images survive each attack of the strong ensemble (``SURVIVE``);
- how many DeepFool iterations an image needs (``advreg.attacks.kinds.DEEPFOOL_ITERS``);
- without a calibration run, a job without model passes (tables, figures) costs start-up +
  ``SMALL_JOB_S``.
"""
from __future__ import annotations

import functools
import json
import math
import subprocess
import sys

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from advreg.workflow import config_views
from advreg.attacks import strong_kinds
from advreg.attacks.kinds import KINDS as ATTACK_KINDS
from advreg.data.sources import DATASETS
from advreg.training.methods import MethodContext, build_method
from advreg.nn.models import build_from_spec, place
from advreg.base.timing import seconds_per_call

# ours: a prior for the share of the attacked images still robust when each later attack of the
# strong ensemble starts (the quick and evidence models keep 60-90 % at ε = 32/255)
SURVIVE = 0.8
# seconds of a job beyond start-up that does no model pass (tables, plots, file reads)
SMALL_JOB_S = 1.0


class _NoModules:
    """Stands in for FlopCounterMode's module tracker: its backward hooks fail on
    ``autograd.grad`` with respect to a leaf input (an attack's or SGR's input gradient), and only
    the total is needed here, not the per-module breakdown."""
    parents = {"Global"}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def _count(fn) -> int:
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _NoModules()
    with counter:
        fn()
    return counter.get_total_flops()


@functools.lru_cache(maxsize=None)
def _pass_flops(spec_json: str, batch: int = 16) -> tuple[float, float]:
    """(forward, forward + backward to the input) FLOPs per image of one architecture."""
    model = build_from_spec(json.loads(spec_json)).eval()
    c, s = json.loads(spec_json)["in_channels"], json.loads(spec_json)["image_size"]
    x = torch.rand(batch, c, s, s)
    y = torch.randint(0, 10, (batch,))

    def fwd():
        with torch.no_grad():
            model(x)

    def fwdbwd():
        xr = x.clone().requires_grad_(True)
        torch.autograd.grad(F.cross_entropy(model(xr), y), xr)

    return _count(fwd) / batch, _count(fwdbwd) / batch


def _flop_key(d: dict) -> str:
    """A spec or method config as a cache key for FLOP counts: SN's finite β only scales the
    normalized weights, never the work, so every finite β counts once (the full grid has 6 β per
    scheme; counting each costs minutes on a CPU). β = ∞ (no normalization) stays apart."""
    def canon(v):
        if isinstance(v, dict):
            return {k: (1.0 if k == "beta" and isinstance(x, (int, float)) and math.isfinite(x) else canon(x))
                    for k, x in v.items()}
        return v
    return json.dumps(canon(d), sort_keys=True)


def pass_flops(spec: dict) -> tuple[float, float]:
    return _pass_flops(_flop_key(spec))


@functools.lru_cache(maxsize=None)
def _step_flops(spec_json: str, name: str, cfg_json: str, batch: int) -> float:
    """FLOPs of one training step (method loss + backward to the weights), averaged over the
    method's update period (SGR's covariance update runs every ``update_every`` steps)."""
    spec, cfg = json.loads(spec_json), json.loads(cfg_json)
    torch.manual_seed(0)
    model = build_from_spec(spec).train()
    c, s = spec["in_channels"], spec["image_size"]
    gen = torch.Generator().manual_seed(0)
    ctx = MethodContext(device=torch.device("cpu"), generator=gen, image_shape=(c, s, s),
                        data_mean_diag=0.1, data_mean_norm=9.0)
    method = build_method(name, cfg, ctx)
    period = int(cfg.get("update_every", 1) or 1)
    x = torch.rand(batch, c, s, s)
    y = torch.randint(0, 10, (batch,))

    def step():
        loss, _ = method.loss(model, x, y)
        loss.backward()

    step()  # first step: running estimates start (not counted)
    return sum(_count(step) for _ in range(period)) / period


COUNT_BATCH = 16  # FLOPs of a step are counted at this batch and scaled: they are linear in it


def step_flops(spec: dict, name: str, cfg: dict, batch: int) -> float:
    b = min(batch, COUNT_BATCH)
    return _step_flops(_flop_key(spec), name, _flop_key(cfg), b) * batch / b


TEST_IMAGES = 10000  # HELPER: read from DATASETS[dataset].test_images


def _n_test(config: dict, n: int | None) -> int:
    return min(n or TEST_IMAGES, TEST_IMAGES)


def _n_train(config: dict, dataset: str, max_train: int | None) -> int:
    left = DATASETS[dataset].train_images - config["data"]["val"]
    return min(max_train or left, left)


def _attack_passes(kind: str, cfg: dict, fb: float, fwd: float, transfer: bool = False) -> float:
    """FLOPs per image of one run of a paper attack (plus the accuracy forward passes): the passes
    its kind declares (advreg.attacks.kinds) times the FLOPs of a pass."""
    if kind not in ATTACK_KINDS:
        raise ValueError(f"no cost rule for attack kind {kind!r}: register it with passes=")
    n_fb, n_fwd = ATTACK_KINDS[kind].passes(cfg, transfer)
    return n_fb * fb + n_fwd * fwd


def _ensemble_flops(ensemble: list[dict], fb: float, fwd: float, survive: float = SURVIVE) -> float:
    """FLOPs per image of the strong ensemble: the first attack on every image, later ones on the
    ``survive`` share (AutoAttack attacks only the images still robust)."""
    total, share = 2 * fwd, 1.0
    for e in ensemble:
        f = strong_kinds.flops(e, fb, fwd)
        total += share * (f + fwd)
        share *= survive
    return total


def job_flops(rule: str, w: dict, config: dict) -> float:
    """FLOPs of one job of ``rule`` with wildcards ``w`` under ``config`` (0: no model passes)."""
    ev = config["evaluation"]
    if rule in ("train", "train_sn"):
        if rule == "train":
            spec = config_views.model_spec(config, w["dataset"], w["method"])
            cfg = config_views.method_cfg(config, w["dataset"], w["method"])
            st = config_views.train_settings(config, w["dataset"], 0)
        else:
            spec = config_views.sn_model_spec(config, w["dataset"], w["method"], w["beta"])
            cfg = config_views.sn_method_cfg(config, w["dataset"], w["method"], w["beta"])
            st = config_views.train_settings(config, w["dataset"], 0, sn=True)
        n = _n_train(config, w["dataset"], st["max_train"])
        fwd, _ = pass_flops(spec)
        per_step = step_flops(spec, w["method"], cfg, st["batch_size"])
        steps = math.ceil(n / st["batch_size"])
        return st["epochs"] * (steps * per_step + config["data"]["val"] * fwd)
    if rule == "adversarial_set":
        spec = config_views.model_spec(config, w["dataset"], w["source"])
        fwd, fb = pass_flops(spec)
        cfg = config_views.attack_cfg(config, w["dataset"], w["attack"])
        kind = cfg.get("kind", w["attack"])
        per = _attack_passes(kind, cfg, fb, fwd) + fwd
        if "transfer_steps" in cfg and cfg["transfer_steps"] != cfg.get("steps"):
            per += _attack_passes(kind, cfg, fb, fwd, transfer=True)
        return _n_test(config, ev["max_test"]) * per
    if rule == "strong_eval":
        spec = config_views.model_spec(config, w["dataset"], w["source"])
        fwd, fb = pass_flops(spec)
        se = config["strong_eval"]
        n = _n_test(config, se.get("max_test") or ev["max_test"])
        return n * (fwd + _ensemble_flops(se["attacks"], fb, fwd))
    if rule == "masking_diagnostics":
        spec = config_views.model_spec(config, w["dataset"], w["source"])
        fwd, fb = pass_flops(spec)
        dg = config["diagnostics"]
        pgd = config_views.attack_cfg(config, w["dataset"], config["strong_eval"]["paper_attack"])
        sweep = len(dg["eps_255"][w["dataset"]]) * (
            _attack_passes("pgd", pgd, fb, fwd) + _ensemble_flops(dg["sweep_attacks"], fb, fwd))
        long = (1 + dg["restarts"] * dg["steps_factor"]) * pgd["steps"] * fb + (1 + dg["restarts"]) * fwd
        return _n_test(config, dg["max_test"]) * (sweep + long)
    if rule == "transfer_matrix":
        models = config_views.matrix_models(config, w["dataset"], w["eps"])
        fwd = max(pass_flops(config_views.model_spec(config, w["dataset"], m))[0] for m in models.values())
        # every model's adversarial set (+ the clean test set) through every model
        return (len(models) + 1) * len(models) * _n_test(config, ev["max_test"]) * fwd
    if rule == "clean_accuracy":
        ms = config_views.trained_methods(config, w["dataset"])
        return sum(pass_flops(config_views.model_spec(config, w["dataset"], m))[0] for m in ms) \
            * len(config["seeds"]) * _n_test(config, ev["clean_max_test"])
    if rule == "lrc_attack":
        # the job sweeps the whole grid once per noise seed (advreg.jobs.sgr_analysis.lrc_attack
        # loops over lrc.seeds); each forward's noise draw costs its sampler's matrix products
        lrc = config["lrc"]
        fwd, _ = pass_flops(config_views.model_spec(config, w["dataset"], w["source"]))
        c, h, wd = DATASETS[w["dataset"]].shape
        hw, d = h * wd, c * h * wd
        lrc_noise = 2.0 * c * c * hw + 2.0 * c * hw * hw     # LRCSampler: L_C z L_Kᵀ
        data_noise = 2.0 * d * d                            # GaussianSampler: z Aᵀ, A of d × d
        per_eps = lrc["k"] * _n_test(config, lrc["max_test"])
        one_seed = len(lrc["epsilons"]) * per_eps * (
            len(lrc["zetas"]) * (fwd + lrc_noise) + (fwd + data_noise if lrc.get("data_covariance") else 0.0))
        return len(lrc["seeds"]) * one_seed
    if rule == "evaluate_sn":
        sn = config["sn_experiments"]
        spec = config_views.sn_model_spec(config, w["dataset"], w["method"], w["beta"])
        cfg = config_views.sn_method_cfg(config, w["dataset"], w["method"], w["beta"])
        fwd, fb = pass_flops(spec)
        steps = {"fgm": 1, "pgm": cfg.get("steps", 1), "wrm": cfg.get("steps", 1)}.get(
            cfg.get("kind", w["method"]).split("_")[0], 0)
        st = config_views.train_settings(config, w["dataset"], 0, sn=True)
        # train_eval null: every training image of the model; val null: none
        n_train = _n_train(config, w["dataset"], st["max_train"])
        n = min(sn["train_eval"] or n_train, n_train) + (sn["val"] or 0) + _n_test(config, sn["max_test"])
        return n * (steps * fb + 2 * fwd)
    return 0.0


def _unbreakable(model: torch.nn.Module) -> torch.nn.Module:
    """The same architecture with its last layer's bias for class 0 raised by 1e4: no attack can
    move an image off class 0, so every attack runs all its steps and queries on every image (the
    work the cost model counts; a random model would be fooled at once and stop early)."""
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.bias[0] += 1e4
    return model


def calibrate(spec: dict, batch: int = 128, attack_batch: int = 500, repeats: int = 5,
              device: str = "cpu", ensemble: list[dict] | None = None) -> dict:
    """Measured FLOP/s on ``device`` of the code the jobs run: a clean training step of ``spec``
    at ``batch``; our PGD (``advreg.attacks.whitebox.pgd``: gradient, step, projection, clip) on
    ``attack_batch`` images, the paper attacks' rate; and, given the strong ``ensemble``, that
    ensemble cut to a few steps and queries (``advreg.attacks.strong``, torchattacks' APGD and
    Square with their bookkeeping) on an unbreakable model, the strong evaluation's rate."""
    from advreg.attacks import whitebox as attacks
    from advreg.attacks import strong as strong_attack

    dev = torch.device(device)
    model = place(build_from_spec(spec), dev)  # as the jobs hold it (channels-last on a CPU)
    c, s = spec["in_channels"], spec["image_size"]
    opt = torch.optim.Adam(model.parameters())

    def timed(fn, n=repeats):
        return seconds_per_call(fn, dev, calls=n, warmup=1)

    x = torch.rand(batch, c, s, s, device=dev)
    y = torch.randint(0, 10, (batch,), device=dev)

    def train_step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    model.train()
    out = {"device": str(dev), "train_flops_per_s": _count(train_step) / timed(train_step)}
    model.eval()
    xa = torch.rand(attack_batch, c, s, s, device=dev)
    ya = torch.randint(0, 10, (attack_batch,), device=dev)
    steps = 5
    fwd, fb = pass_flops(spec)
    pgd_flops = attack_batch * (steps * fb)
    t = timed(lambda: attacks.pgd(model, xa, 0.1, steps, 0.01, y=ya), n=max(1, repeats // 2))
    out["attack_flops_per_s"] = pgd_flops / t
    if ensemble:
        short = [{**e, **{k: min(v, cap) for k, cap in (("steps", 5), ("queries", 25), ("targets", 1),
                                                        ("restarts", 1)) for v in [e.get(k)] if v}}
                 for e in ensemble]
        n = min(attack_batch, 200)
        xs = xa[:n]
        strong_model = _unbreakable(place(build_from_spec(spec), dev).eval())
        y0 = torch.zeros(n, dtype=torch.long, device=dev)
        flops = n * _ensemble_flops(short, fb, fwd, survive=1.0)
        t = timed(lambda: strong_attack.strong_attack(strong_model, xs, y0, 0.1, short, batch_size=n), n=1)
        out["strong_flops_per_s"] = flops / t
    return out


def startup_seconds(modules: tuple[str, ...] = ("torch", "advreg.training.loop", "advreg.attacks.strong"),
                    repeats: int = 3) -> float:
    """Seconds for a fresh Python to import what a job imports (the per-job start-up)."""
    code = "; ".join(f"import {m}" for m in modules)
    return seconds_per_call(lambda: subprocess.run([sys.executable, "-c", code], check=True), rounds=repeats)


TRAIN_RULES = ("train", "train_sn")
# most of these jobs' passes are the strong ensemble's (the masking sweep runs it at every ε)
STRONG_RULES = ("strong_eval", "masking_diagnostics")


def calibrate_methods(config: dict, dataset: str, methods, device: str = "cpu", repeats: int = 3) -> dict:
    """Measured FLOP/s of each method's real training step (its loss and backward, an optimizer
    step; the dataset's architecture and batch): double backprop and inner attack loops run at
    other rates than a plain step, so each training job is timed at its own method's rate."""
    dev = torch.device(device)
    out = {}
    for name in methods:
        spec = config_views.model_spec(config, dataset, name)
        cfg = config_views.method_cfg(config, dataset, name)
        batch = config["dataset_settings"][dataset]["batch_size"]
        torch.manual_seed(0)
        model = place(build_from_spec(spec), dev).train()
        opt = torch.optim.Adam(model.parameters())
        c, s = spec["in_channels"], spec["image_size"]
        ctx = MethodContext(device=dev, generator=torch.Generator(device=dev).manual_seed(0),
                            image_shape=(c, s, s), data_mean_diag=0.1, data_mean_norm=9.0)
        method = build_method(name, cfg, ctx)
        x = torch.rand(batch, c, s, s, device=dev)
        y = torch.randint(0, 10, (batch,), device=dev)

        def step():
            opt.zero_grad(set_to_none=True)
            loss, _ = method.loss(model, x, y)
            loss.backward()
            opt.step()

        period = int(cfg.get("update_every", 1) or 1)
        # a whole covariance-update period, so the update's share is in the rate
        t = seconds_per_call(step, dev, calls=max(repeats, period), warmup=1)
        out[f"train:{name}"] = step_flops(spec, name, cfg, batch) / t
    return out


def job_seconds(rule: str, flops: float, startup: float, throughput: dict, method: str | None = None) -> float:
    """Predicted seconds of one job: its fixed cost, then its FLOPs at the measured rate of its kind
    (its method's training step where calibrated, else a plain training step, or attack/evaluation
    batches).

    The fixed cost is ``throughput['fixed:<rule>']`` where a calibration measured it (start-up,
    reading the dataset and model, first-call set-up, writing outputs: see ``fixed_seconds``), else
    ``startup`` (plus ``SMALL_JOB_S`` for a job with no model passes)."""
    fixed = throughput.get(f"fixed:{rule}")
    if fixed is None:
        fixed = startup + (SMALL_JOB_S if flops == 0 else 0.0)
    if flops == 0:
        return fixed
    if rule in TRAIN_RULES:
        rate = throughput.get(f"train:{method}", throughput["train_flops_per_s"])
    elif rule in STRONG_RULES:
        rate = throughput.get("strong_flops_per_s", throughput["attack_flops_per_s"])
    else:
        rate = throughput["attack_flops_per_s"]
    return fixed + flops / rate


def fixed_seconds(measured: dict[str, tuple[int, float]], compute: dict[str, float]) -> dict[str, float]:
    """Each rule's fixed cost per job, from a calibration run: (its measured seconds − the seconds
    its FLOPs take at the calibrated rates) / its jobs, never below 0. ``measured`` maps a rule to
    (jobs, summed wall seconds of their ``benchmark:`` files), ``compute`` to its summed FLOP
    seconds. A calibration run small enough that compute is a minor part (the tiny preset)
    measures mostly this fixed part."""
    return {f"fixed:{rule}": max(0.0, (seconds - compute.get(rule, 0.0)) / jobs)
            for rule, (jobs, seconds) in measured.items() if jobs}


# ------------------------------------------------------------------ cluster resources per job

def _spec_of(rule: str, w: dict, config: dict) -> dict | None:
    if rule in ("train_sn", "evaluate_sn"):
        return config_views.sn_model_spec(config, w["dataset"], w["method"], w["beta"])
    name = w.get("method") or w.get("source")
    if name and "dataset" in w and name in config["method_settings"]:
        return config_views.model_spec(config, w["dataset"], name)
    return None


@functools.lru_cache(maxsize=None)
def _activation_bytes(spec_json: str) -> int:
    """Bytes of every module output of one forward pass, per image (float32)."""
    spec = json.loads(spec_json)
    model = build_from_spec(spec).eval()
    total = [0]
    hooks = [m.register_forward_hook(lambda m, i, o: total.__setitem__(0, total[0] + o.numel() * 4)
                                     if isinstance(o, torch.Tensor) else None)
             for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        model(torch.rand(1, spec["in_channels"], spec["image_size"], spec["image_size"]))
    for h in hooks:
        h.remove()
    return total[0]


def job_runtime_minutes(rule: str, w: dict, config: dict, attempt: int = 1) -> int:
    """A cluster job's wall time: the predicted seconds at ``config['cost']``'s stated throughput
    and start-up, times its safety factor, at least ``min_minutes``; times ``attempt``, so a job
    killed at its wall time is re-submitted (Snakemake ``--retries``) with more."""
    c = config["cost"]
    rate = {"train_flops_per_s": c["throughput_gflops"] * 1e9, "attack_flops_per_s": c["throughput_gflops"] * 1e9}
    seconds = job_seconds(rule, job_flops(rule, w, config), c["startup_s"], rate)
    return max(c["min_minutes"], math.ceil(c["safety"] * seconds / 60)) * attempt


def _activation_mb(rule: str, w: dict, config: dict) -> float | None:
    """MB of the activations of a job's largest batch kept for a backward pass (3× a forward's
    outputs); None for a job that runs no model."""
    spec = _spec_of(rule, w, config)
    if spec is None:
        return None
    batch = max(config["evaluation"]["batch_size"], config["dataset_settings"][w["dataset"]]["batch_size"])
    return 3 * batch * _activation_bytes(json.dumps(spec, sort_keys=True)) / 2 ** 20


def job_mem_mb(rule: str, w: dict, config: dict, attempt: int = 1, on_gpu: bool = False) -> int:
    """A cluster job's host memory: a base for the interpreter, torch and the dataset artifact,
    plus, when the job computes on the CPU, its activations (on a GPU they live in device memory:
    ``job_gpu_mem_mb``), times ``attempt``."""
    c = config["cost"]
    act = _activation_mb(rule, w, config)
    if act is None or on_gpu:
        return c["base_mem_mb"] * attempt
    return int(math.ceil(c["base_mem_mb"] + act)) * attempt


def job_gpu_mem_mb(rule: str, w: dict, config: dict) -> int:
    """A job's GPU memory: the CUDA context (config ``cost.cuda_context_mb``) plus its activations;
    0 for a job that runs no model."""
    act = _activation_mb(rule, w, config)
    return 0 if act is None else int(math.ceil(config["cost"]["cuda_context_mb"] + act))
