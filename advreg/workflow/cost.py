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
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from advreg.attacks import strong_kinds
from advreg.attacks.kinds import KINDS as ATTACK_KINDS
from advreg.base.references import resolve
from advreg.base.timing import seconds_per_call
from advreg.data.sources import DATASETS
from advreg.nn.models import build_from_spec, place
from advreg.training.method_kinds import attack_steps, method_kind
from advreg.training.methods import MethodContext, build_method
from advreg.workflow import config_views, cost_rules
from advreg.workflow.cost_rules import RULE_COSTS

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
    spec = json.loads(spec_json)
    model = build_from_spec(spec).eval()
    c, s = spec["in_channels"], spec["image_size"]
    x = torch.rand(batch, c, s, s)
    y = torch.randint(0, spec["num_classes"], (batch,))

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


@dataclass(frozen=True)
class Work:
    """What one job (or one step, or one image of a job) computes: the images it passes through
    its model's forward (each forward counts, with or without a backward after it: the count
    tests/workflow/test_pass_counts.py compares with what the jobs did) and its FLOPs."""
    forward: float = 0.0
    flops: float = 0.0

    def __add__(self, other: "Work") -> "Work":
        return Work(self.forward + other.forward, self.flops + other.flops)

    def __mul__(self, k: float) -> "Work":
        return Work(self.forward * k, self.flops * k)

    __rmul__ = __mul__


NOTHING = Work()


def passes(n_fb: float, n_fwd: float, spec: dict) -> Work:
    """``n_fb`` forward passes with a backward to the input and ``n_fwd`` forward-only passes of
    ``spec``'s model, on one image."""
    fwd, fb = pass_flops(spec)
    return Work(n_fb + n_fwd, n_fb * fb + n_fwd * fwd)


def _model_images(model: torch.nn.Module) -> tuple[list, torch.utils.hooks.RemovableHandle]:
    """Images through ``model``'s forward from now on ([count]), and the hook to remove."""
    seen = [0]
    hook = model.register_forward_pre_hook(lambda m, args: seen.__setitem__(0, seen[0] + args[0].shape[0]))
    return seen, hook


@functools.lru_cache(maxsize=None)
def _step_work(spec_json: str, name: str, cfg_json: str, batch: int) -> Work:
    """One training step (method loss + backward to the weights), averaged over the method's
    update period (SGR's covariance update runs every ``update_every`` steps): its FLOPs and the
    images its method passes through the model (an inner attack's steps, a mixed batch)."""
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
    y = torch.randint(0, spec["num_classes"], (batch,))

    def step():
        loss, _ = method.loss(model, x, y)
        loss.backward()

    step()  # first step: running estimates start (not counted)
    seen, hook = _model_images(model)
    flops = sum(_count(step) for _ in range(period))
    hook.remove()
    return Work(seen[0] / period, flops / period)


COUNT_BATCH = 16  # a step is counted at this batch and scaled: its FLOPs and passes are linear in it


def step_work(spec: dict, name: str, cfg: dict, batch: int) -> Work:
    b = min(batch, COUNT_BATCH)
    return _step_work(_flop_key(spec), name, _flop_key(cfg), b) * (batch / b)


def step_flops(spec: dict, name: str, cfg: dict, batch: int) -> float:
    return step_work(spec, name, cfg, batch).flops


def _n_test(dataset: str, n: int | None) -> int:
    """Test images a job evaluates: the first ``n`` (None: all) of the dataset's test set."""
    total = DATASETS[dataset].test_images
    return min(n or total, total)


def _attack_passes(kind: str, cfg: dict, transfer: bool = False) -> tuple[float, float]:
    """(forward + backward, forward) passes per image of one run of a paper attack: the passes
    its kind declares (advreg.attacks.kinds)."""
    if kind not in ATTACK_KINDS:
        raise ValueError(f"no cost rule for attack kind {kind!r}: register it with passes=")
    return ATTACK_KINDS[kind].passes(cfg, transfer)


def _ensemble_passes(ensemble: list[dict], survive: float = SURVIVE,
                     attacked: list[float] | None = None) -> tuple[float, float]:
    """(forward + backward, forward) passes per image of the strong ensemble: a clean forward,
    the first attack on every image, later ones on the ``survive`` share (AutoAttack attacks only
    the images still robust), each followed by a forward that checks which images survive.
    ``attacked``: the share of the images each attack ran on, where a run measured it (a strong
    evaluation's ``steps``), instead of the prior. Each kind declares its cost as a linear
    function of the two pass costs (advreg.attacks.strong_kinds)."""
    n_fb, n_fwd, share = 0.0, 1.0, 1.0
    for i, e in enumerate(ensemble):
        if attacked is not None:
            share = attacked[i]
        n_fb += share * strong_kinds.flops(e, 1.0, 0.0)
        n_fwd += share * (strong_kinds.flops(e, 0.0, 1.0) + 1)
        share *= survive
    return n_fb, n_fwd


def _ensemble_flops(ensemble: list[dict], fb: float, fwd: float, survive: float = SURVIVE) -> float:
    """FLOPs per image of the strong ensemble (``_ensemble_passes`` at these pass costs)."""
    n_fb, n_fwd = _ensemble_passes(ensemble, survive)
    return n_fb * fb + n_fwd * fwd


# ------------------------------------------------------------------ each rule's jobs
# One function per rule that runs a model, declared in advreg.workflow.cost_rules.RULE_COSTS:
# (wildcards, config) -> the Work of one job, counted from what the job's code does.

def _training(config: dict, dataset: str, spec: dict, name: str, cfg: dict, st: dict) -> Work:
    """Epochs × (the method's steps over the training images + a validation forward pass)
    (advreg.training.loop.train)."""
    n = config_views.training_images(config, dataset, st["max_train"])
    steps = math.ceil(n / st["batch_size"])
    val = config["data"]["val"]
    return st["epochs"] * (steps * step_work(spec, name, cfg, st["batch_size"]) + val * passes(0, 1, spec))


def train_work(w: dict, config: dict) -> Work:
    ds, m = w["dataset"], w["method"]
    return _training(config, ds, config_views.model_spec(config, ds, m), m,
                     config_views.method_cfg(config, ds, m), config_views.train_settings(config, ds, 0))


def train_sn_work(w: dict, config: dict) -> Work:
    ds, m, b = w["dataset"], w["method"], w["beta"]
    return _training(config, ds, config_views.sn_model_spec(config, ds, m, b), m,
                     config_views.sn_method_cfg(config, ds, m, b),
                     config_views.train_settings(config, ds, 0, sn=True))


def adversarial_set_work(w: dict, config: dict) -> Work:
    """The attack on every test image, the clean and white-box accuracy forwards
    (advreg.jobs.attack.make_adversarial_set), and the transfer set's own run where its step
    count differs."""
    spec = config_views.model_spec(config, w["dataset"], w["source"])
    cfg = config_views.attack_cfg(config, w["dataset"], w["attack"])
    kind = cfg.get("kind", w["attack"])
    per = passes(*_attack_passes(kind, cfg), spec) + passes(0, 2, spec)
    if "transfer_steps" in cfg and cfg["transfer_steps"] != cfg.get("steps"):
        per += passes(*_attack_passes(kind, cfg, transfer=True), spec)
    return _n_test(w["dataset"], config["evaluation"]["max_test"]) * per


def strong_eval_work(w: dict, config: dict, attacked: list[float] | None = None) -> Work:
    """The paper attack's set re-measured (a forward), then the strong ensemble
    (advreg.jobs.strong.evaluate_strong); ``attacked``: see ``_ensemble_passes``."""
    spec = config_views.model_spec(config, w["dataset"], w["source"])
    se = config["strong_eval"]
    n = _n_test(w["dataset"], se.get("max_test") or config["evaluation"]["max_test"])
    return n * (passes(0, 1, spec) + passes(*_ensemble_passes(se["attacks"], attacked=attacked), spec))


def masking_diagnostics_work(w: dict, config: dict, attacked: list[list[float]] | None = None) -> Work:
    """At each ε of the sweep the paper's PGD, its accuracy forward and the sweep ensemble; at
    the paper's ε PGD and ``restarts`` longer PGD runs, each with a forward for its labels
    (advreg.jobs.masking.measure). ``attacked``: per ε of the sweep, the share of the images each
    attack of the ensemble ran on, where a run measured it (its record's ``sweep[].attacked``),
    instead of the prior (``_ensemble_passes``)."""
    spec = config_views.model_spec(config, w["dataset"], w["source"])
    dg = config["diagnostics"]
    # every PGD run of the diagnostics is given the true labels (no label forward)
    pgd = {**config_views.attack_cfg(config, w["dataset"], config["strong_eval"]["paper_attack"]), "y": "true labels"}
    n_fb, n_fwd = _attack_passes("pgd", pgd)
    shares = attacked or [None] * len(dg["eps_255"][w["dataset"]])
    sweep = sum((passes(n_fb, n_fwd + 1, spec) + passes(*_ensemble_passes(dg["sweep_attacks"], attacked=a), spec)
                 for a in shares), NOTHING)
    long = passes(n_fb, n_fwd + 2, spec) + dg["restarts"] * passes(
        *_attack_passes("pgd", {**pgd, "steps": pgd["steps"] * dg["steps_factor"], "random_start": True}), spec) \
        + dg["restarts"] * passes(0, 1, spec)
    return _n_test(w["dataset"], dg["max_test"]) * (sweep + long)


def transfer_matrix_work(w: dict, config: dict) -> Work:
    """Every model on the clean test set and on every other model's adversarial set
    (advreg.jobs.transfer.measure_matrix; the diagonal is read from the white-box metrics)."""
    models = config_views.matrix_models(config, w["dataset"], w["eps"])
    n = _n_test(w["dataset"], config["evaluation"]["max_test"])
    return sum((len(models) * n * passes(0, 1, config_views.model_spec(config, w["dataset"], m))
                for m in models.values()), NOTHING)


def clean_accuracy_work(w: dict, config: dict) -> Work:
    ms = config_views.trained_methods(config, w["dataset"])
    n = _n_test(w["dataset"], config["evaluation"]["clean_max_test"])
    return sum((n * len(config["seeds"]) * passes(0, 1, config_views.model_spec(config, w["dataset"], m))
                for m in ms), NOTHING)


def lrc_attack_work(w: dict, config: dict) -> Work:
    """The (ζ, ε) grid once per noise seed (advreg.jobs.sgr_analysis.lrc_attack loops over
    lrc.seeds), k noise draws per image and grid point, each a forward plus its sampler's matrix
    products; and, with the data covariance, its own ε grid."""
    lrc = config["lrc"]
    spec = config_views.model_spec(config, w["dataset"], w["source"])
    c, h, wd = DATASETS[w["dataset"]].shape
    hw, d = h * wd, c * h * wd
    lrc_noise = Work(0, 2.0 * c * c * hw + 2.0 * c * hw * hw)   # LRCSampler: L_C z L_Kᵀ
    data_noise = Work(0, 2.0 * d * d)                          # GaussianSampler: z Aᵀ, A of d × d
    per_eps = lrc["k"] * _n_test(w["dataset"], lrc["max_test"])
    one = passes(0, 1, spec)
    one_seed = len(lrc["epsilons"]) * per_eps * (
        len(lrc["zetas"]) * (one + lrc_noise) + (one + data_noise if lrc.get("data_covariance") else NOTHING))
    return len(lrc["seeds"]) * one_seed


def lrc_figures_work(w: dict, config: dict) -> Work:
    """Fig. 3's samples: two test images under each sample ζ's noise through the first LRC model
    (advreg.jobs.sgr_analysis.lrc_figures)."""
    spec = config_views.model_spec(config, w["dataset"], config["lrc"]["models"][0])
    return 2 * len(config["lrc"]["sample_zetas"]) * passes(0, 1, spec)


TRAJECTORY_POOL = 200   # advreg.jobs.sgr_analysis.trajectories' pool of test images


def trajectories_work(w: dict, config: dict) -> Work:
    """Fig. 6: the first model's clean and PGD predictions on a pool of test images, then each
    model along ``steps`` points of the line for each example (advreg.jobs.sgr_analysis.trajectories)."""
    sm, ds = config["smoothness"], w["dataset"]
    specs = [config_views.model_spec(config, ds, m) for m in sm["models"]]
    pool = min(TRAJECTORY_POOL, _n_test(ds, config["evaluation"]["max_test"]))
    return 2 * pool * passes(0, 1, specs[0]) + sum(
        (sm["examples"] * sm["steps"] * passes(0, 1, s) for s in specs), NOTHING)


def adversarial_samples_work(w: dict, config: dict) -> Work:
    """Figs. 7-8: the model's predictions on ``samples`` clean and PGD images."""
    spec = config_views.model_spec(config, w["dataset"], w["source"])
    return 2 * config["smoothness"]["samples"] * passes(0, 1, spec)


def evaluate_sn_work(w: dict, config: dict) -> Work:
    """The scheme's own training attack (``attack_steps`` of its kind, advreg.training.method_kinds)
    on training, validation and test images, then the adversarial and the clean forward; a scheme
    without an attack (ERM) one forward (advreg.jobs.sn.evaluate_sn_model)."""
    sn = config["sn_experiments"]
    spec = config_views.sn_model_spec(config, w["dataset"], w["method"], w["beta"])
    cfg = config_views.sn_method_cfg(config, w["dataset"], w["method"], w["beta"])
    steps = attack_steps(method_kind(w["method"], cfg), cfg)
    st = config_views.train_settings(config, w["dataset"], 0, sn=True)
    # train_eval null: every training image of the model; val null: none
    n_train = config_views.training_images(config, w["dataset"], st["max_train"])
    n = min(sn["train_eval"] or n_train, n_train) + (sn["val"] or 0) + _n_test(w["dataset"], sn["max_test"])
    return n * (passes(steps, 2, spec) if steps else passes(0, 1, spec))


@functools.lru_cache(maxsize=None)
def _rule_cost(rule: str):
    if rule not in RULE_COSTS:
        raise KeyError(cost_rules.problem([rule]))
    ref = RULE_COSTS[rule]
    return None if ref is cost_rules.NO_MODEL else resolve(ref)


def job_work(rule: str, w: dict, config: dict) -> Work:
    """What one job of ``rule`` with wildcards ``w`` computes under ``config``: its rule's declared
    function (advreg.workflow.cost_rules.RULE_COSTS), nothing for a rule declared NO_MODEL; an
    undeclared rule is an error that names it."""
    fn = _rule_cost(rule)
    return NOTHING if fn is None else fn(w, config)


def job_flops(rule: str, w: dict, config: dict) -> float:
    """FLOPs of one job of ``rule`` with wildcards ``w`` under ``config`` (0: no model passes)."""
    return job_work(rule, w, config).flops


def job_passes(rule: str, w: dict, config: dict) -> float:
    """Images one job of ``rule`` passes through its model's forward (``job_work``)."""
    return job_work(rule, w, config).forward


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
    from advreg.attacks import strong as strong_attack
    from advreg.attacks import whitebox as attacks

    dev = torch.device(device)
    model = place(build_from_spec(spec), dev)  # as the jobs hold it (channels-last on a CPU)
    c, s = spec["in_channels"], spec["image_size"]
    opt = torch.optim.Adam(model.parameters())

    def timed(fn, n=repeats):
        return seconds_per_call(fn, dev, calls=n, warmup=1)

    x = torch.rand(batch, c, s, s, device=dev)
    y = torch.randint(0, spec["num_classes"], (batch,), device=dev)

    def train_step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    model.train()
    out = {"device": str(dev), "train_flops_per_s": _count(train_step) / timed(train_step)}
    model.eval()
    xa = torch.rand(attack_batch, c, s, s, device=dev)
    ya = torch.randint(0, spec["num_classes"], (attack_batch,), device=dev)
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
        y = torch.randint(0, spec["num_classes"], (batch,), device=dev)

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
