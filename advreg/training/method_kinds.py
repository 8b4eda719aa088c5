"""The training-method kinds, each declared once: the hyperparameters it requires and may take
(type and range, advreg.base.params), its kind-specific check, and the class that implements it
(advreg.training.methods, or an extension's). Config entries under ``methods:`` name a ``kind`` (default:
the entry's own name) plus its hyperparameters, so a new variant of a method is a config entry.

Every other place reads this table: the config check (``method_problems``), the training loop and
the cost model (``implementation``). Torch-free on purpose: the config check runs while Snakemake
parses the Snakefile, which should not pay for importing torch; ``implementation`` imports the
class when a method is built. An extension adds a kind with ``@advreg.training.methods.register(name)`` on
its class, whose ``params``/``optional_params``/``check`` are read into a declaration here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from advreg.base.params import EPS_255, RANDOM_START, STEP_SIZE_255, STEPS, WEIGHT, Param, check_params
from advreg.base.references import resolve
from advreg.nn.sn_modes import MODES as SN_MODES


@dataclass(frozen=True)
class MethodKind:
    impl: str | type   # "module:Class", or the class itself (an extension's)
    params: dict[str, Param] = field(default_factory=dict)           # required
    optional_params: dict[str, Param] = field(default_factory=dict)
    # kind-specific validation of values (raise ValueError naming the value)
    check: Callable[[str, dict], None] | None = None


def _sgr_check(name: str, cfg: dict) -> None:
    need = {"fgsm": ("eps_255",), "pgd": ("eps_255", "steps", "step_size_255", "random_start")}
    missing = [k for k in need.get(cfg["source"], ()) if k not in cfg]
    if missing:
        raise ValueError(f"method {name!r}: source {cfg['source']!r} needs {missing}")


SGR_SOURCES = ("identity", "grad", "sign", "fgsm", "pgd")
LAM = Param("number", lo=0, doc="regularization strength λ")
EPS_REL = Param("number", lo=0, doc="ε as a fraction of E‖X‖₂")

KINDS: dict[str, MethodKind] = {
    "clean": MethodKind("advreg.training.methods:Method"),
    "wdecay": MethodKind("advreg.training.methods:WeightDecay", {"weight_decay": Param("number", lo=0, doc="L2 coefficient c")}),
    "fgsm": MethodKind("advreg.training.methods:FGSMAugment", {"mix": WEIGHT, "eps_255": EPS_255}),
    "pgd": MethodKind("advreg.training.methods:PGDAugment", {"mix": WEIGHT, "eps_255": EPS_255, "steps": STEPS,
                                                    "step_size_255": STEP_SIZE_255, "random_start": RANDOM_START}),
    "lrc": MethodKind("advreg.training.methods:LRCAugment", {
        "mix": WEIGHT, "zeta": Param("number", lo=0, lo_open=True, doc="decay length ζ (pixels)"),
        "eps": Param("number", lo=0, doc="noise strength ε (pixel units)"),
        "inter_channel": Param("number", lo=0, hi=1, doc="inter-channel correlation")}),
    "sgr": MethodKind("advreg.training.methods:SGR", {
        "lam": LAM, "source": Param("choice", choices=SGR_SOURCES),
        "representation": Param("choice", choices=("full", "function")),
        "decay": Param("number", lo=0, hi=1, lo_open=True, doc="weight of the new batch in Σ̂"),
        "update_every": Param("int", lo=1, doc="steps between Σ̂ updates")},
        {"eps_255": EPS_255, "steps": STEPS, "step_size_255": STEP_SIZE_255, "random_start": RANDOM_START,
         "uncentered": Param("bool")}, _sgr_check),
    "gn": MethodKind("advreg.training.methods:GN", {"lam": LAM}),
    "fgm": MethodKind("advreg.training.methods:FGMTraining", {"eps_rel": EPS_REL}),
    "pgm": MethodKind("advreg.training.methods:PGMTraining", {"eps_rel": EPS_REL, "steps": STEPS}),
    "wrm": MethodKind("advreg.training.methods:WRMTraining", {
        "gamma_rel": Param("number", lo=0, lo_open=True, doc="γ as a fraction of E‖X‖₂"), "steps": STEPS}),
}

# The SN paper's training schemes (Farnia et al. 2019, §5), the kinds its experiments sweep β for
# (the config check) and how many attack steps each takes per training step (the cost model): an
# int, or the name of the hyperparameter that holds it.
SN_SCHEMES: dict[str, int | str] = {"clean": 0, "fgm": 1, "pgm": "steps", "wrm": "steps"}


def attack_steps(kind: str, cfg: dict) -> int:
    """The attack steps an SN scheme of kind ``kind`` takes per training step (SN_SCHEMES)."""
    steps = SN_SCHEMES[kind]
    return int(cfg[steps]) if isinstance(steps, str) else steps


# Keys any method entry may carry that configure the model or the registry, not the objective:
# `spectral_norm: {beta, mode}` (Farnia et al. 2019) and an architecture other than the dataset's.
COMMON_KEYS = ("kind", "spectral_norm", "arch", "widths")

SPECTRAL_NORM = {"beta": Param("number", lo=0, lo_open=True, doc="SN bound β on each layer's norm"),
                 "mode": Param("choice", choices=tuple(SN_MODES))}


def register(name: str, kind: MethodKind) -> None:
    """A new method kind (advreg.training.methods.register calls this for an extension's class)."""
    if name in KINDS:
        raise ValueError(f"method kind {name!r} is already registered")
    KINDS[name] = kind


def implementation(kind: str) -> type:
    """The class that implements method kind ``kind``."""
    return resolve(KINDS[kind].impl)


def method_kind(name: str, cfg: dict) -> str:
    return cfg.get("kind", name)


def method_params(name: str, cfg: dict) -> tuple[dict[str, Param], dict[str, Param]]:
    """The (required, optional) parameter declarations of the entry's kind."""
    k = KINDS[method_kind(name, cfg)]
    return k.params, k.optional_params


def method_problems(name: str, cfg: dict, owner: str | None = None) -> list[str]:
    """Every problem of a method entry: unknown kind, unknown/missing hyperparameters, values of the
    wrong type or out of range (each declared once, above), kind-specific checks."""
    owner = owner or f"method {name!r}"
    kind = method_kind(name, cfg)
    if kind not in KINDS:
        return [f"{owner}: unknown kind {kind!r}; expected one of {sorted(KINDS)} (or a kind an "
                f"extension registers: list its file under `extensions`)"]
    k = KINDS[kind]
    problems = check_params(owner, cfg, k.params, k.optional_params, ignore=COMMON_KEYS,
                            note=f" (kind {kind!r})")
    sn = cfg.get("spectral_norm")
    if sn is not None:
        if not isinstance(sn, dict):
            problems.append(f"{owner}.spectral_norm: {sn!r}; expected {{beta: <number>, mode: {'|'.join(SN_MODES)}}}")
        else:
            problems += check_params(f"{owner}.spectral_norm", sn, {"beta": SPECTRAL_NORM["beta"]},
                                     {"mode": SPECTRAL_NORM["mode"]})
    if not problems and k.check is not None:  # kind-specific checks may read any declared value
        try:
            k.check(name, cfg)
        except ValueError as e:
            problems.append(str(e))
    return problems


def check_method(name: str, cfg: dict) -> None:
    """Reject an unknown kind, unknown/missing hyperparameters or a bad value, naming each."""
    problems = method_problems(name, cfg)
    if problems:
        raise ValueError("; ".join(problems))
