"""The attack kinds of the SGR paper's white-box and transfer attacks, each declared once: the
config keys it takes, its model passes per image (for the cost model) and the function that runs
it on one batch. An extension adds a kind with ``register_attack`` (advreg.workflow.extensions).

Every other place reads this table: the config check (``params``), the cost model (``passes``),
and ``advreg.attacks.whitebox.run_attack`` (``runner``). Torch-free on purpose: the config check runs while
Snakemake parses the Snakefile, which should not pay for importing torch; ``runner`` imports
``advreg.attacks.whitebox`` when an attack runs.

``params``: the config keys besides ``kind`` and ``eps_255``, all optional (the functions in
advreg.attacks.whitebox hold the defaults); ``*_255`` values are in units of 1/255
(advreg.jobs.attack.attack_kwargs converts them to pixels).
``passes(cfg, transfer) -> (forward+backward, forward)`` model passes per image of one run
(``transfer``: the run that makes the transfer set).
``run(model, x, eps, generator=None, **params) -> x_adv`` for one batch; ε is ignored by
'deepfool' and 'wrm' (WRM takes 'gamma' in params).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from advreg.base.params import RANDOM_START, STEP_SIZE_255, STEPS, Param
from advreg.base.references import resolve


@dataclass(frozen=True)
class AttackKind:
    params: dict[str, Param]
    passes: Callable[..., tuple[float, float]]
    run: str | Callable   # "module:function" (imported when the attack runs), or the function


def runner(name: str) -> Callable:
    """The function that runs attack kind ``name`` on one batch."""
    try:
        run = KINDS[name].run
    except KeyError:
        raise ValueError(f"unknown attack {name!r}; expected one of {sorted(KINDS)}") from None
    return resolve(run)


# DeepFool converges in 2-3 iterations on average (Moosavi-Dezfooli et al. 2016, Table 1); each
# iteration is a forward, one backward per candidate class and the check's forward.
DEEPFOOL_ITERS = 3


def _deepfool_passes(cfg: dict, transfer: bool = False) -> tuple[float, float]:
    iters = min(DEEPFOOL_ITERS, cfg.get("max_iter", 50))
    k = min(cfg.get("nb_candidate", 10), 10)
    # and the clean forward that picks the candidates, before the iterations
    return iters * (k - 1), iters * (2 - (k - 1)) + 1


def _pgd_passes(cfg: dict, transfer: bool = False) -> tuple[float, float]:
    steps = cfg.get("transfer_steps", cfg.get("steps", 40)) if transfer else cfg.get("steps", 40)
    # a label forward only with a random start and no labels given (``y``: the masking diagnostics
    # attack with the true labels): otherwise the first step's forward gives the labels
    return steps, (1 if cfg.get("random_start", False) and cfg.get("y") is None else 0)


KINDS: dict[str, AttackKind] = {
    "rand": AttackKind({}, lambda cfg, transfer=False: (0, 1), "advreg.attacks.whitebox:_run_rand"),
    # one-step attacks read the predicted labels from their own gradient forward (advreg.attacks.whitebox)
    "fgsm": AttackKind({}, lambda cfg, transfer=False: (1, 0), "advreg.attacks.whitebox:_run_fgsm"),
    "fgm": AttackKind({}, lambda cfg, transfer=False: (1, 0), "advreg.attacks.whitebox:_run_fgm"),
    "pgd": AttackKind({"steps": STEPS, "transfer_steps": STEPS, "step_size_255": STEP_SIZE_255,
                       "random_start": RANDOM_START, "norm": Param("choice", choices=("linf", "l2"))},
                      _pgd_passes, "advreg.attacks.whitebox:_run_pgd"),
    "deepfool": AttackKind({"overshoot": Param("number", lo=0), "max_iter": STEPS,
                            "nb_candidate": Param("int", lo=2)},
                           _deepfool_passes, "advreg.attacks.whitebox:_run_deepfool"),
    "wrm": AttackKind({"gamma": Param("number", lo=0, lo_open=True), "steps": STEPS},
                      lambda cfg, transfer=False: (cfg.get("steps", 15) + 1, 0), "advreg.attacks.whitebox:_run_wrm"),
}


def register_attack(name: str, fn: Callable, params: dict[str, Param] | None = None,
                    passes: Callable[..., tuple[float, float]] | None = None) -> None:
    """A new attack kind, e.g. from an extension (advreg.workflow.extensions): ``fn(model, x, eps,
    generator=None, **params) -> x_adv`` for one batch, the config keys it takes besides ``kind`` and
    ``eps_255`` (checked before any job runs), and its model passes per image for the cost model
    (``passes(cfg, transfer) -> (forward+backward, forward)``). An attack listed in the config's
    ``attacks`` then runs on every model, and in ``transfer.attacks`` fills the matrices."""
    if name in KINDS:
        raise ValueError(f"attack kind {name!r} is already registered")
    if passes is None:
        raise ValueError(f"register_attack({name!r}): give passes=(cfg, transfer) -> (forward+backward, "
                         f"forward) passes per image, so the cost model can size its jobs")
    KINDS[name] = AttackKind(dict(params or {}), passes, fn)
