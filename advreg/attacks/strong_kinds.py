"""The strong-evaluation attack kinds, each declared once (issue 28): its parameters with their
defaults, what it costs, its short label, and the function that builds it.

Every other place reads this table: the schema's ``kind`` enum (``advreg.workflow.config_check.load_schema``),
the config check of an ensemble entry (``problems``), the cost model (``flops``), the label in
tables and logs (``label``) and ``advreg.attacks.strong`` (``build``). A kind is added here and
nowhere else.

Defaults are AutoAttack's "standard" version as fra31/auto-attack sets it (APGD-CE 100 steps;
APGD-T and FAB-T 100 steps, 9 target classes; Square 5,000 queries; one restart each).

Torch-free on purpose: the Snakefile's parsing and the config checks read it, and they should not
pay for importing torch; ``build`` imports torchattacks when it is called.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class StrongKind:
    # parameter -> default; an entry may set only these
    params: dict[str, int]
    # FLOPs per attacked image from the resolved parameters, the FLOPs of one forward+backward
    # pass (fb) and of one forward pass (fwd)
    cost: Callable[[dict, float, float], float]
    # the torchattacks attack: (model, eps in pixels, seed, **resolved parameters)
    build: Callable
    # short name for tables and logs, from the resolved parameters
    label: Callable[[str, dict], str]
    # a score-based black-box attack (no gradient): the masking diagnostics read what it breaks
    # that the gradient attacks left (advreg.jobs.masking)
    black_box: bool = False


def _apgd(loss: str):
    def build(model, eps, seed, steps, restarts):
        import torchattacks
        return torchattacks.APGD(model, norm="Linf", eps=eps, steps=steps, n_restarts=restarts,
                                 seed=seed, loss=loss)
    return build


def _apgd_t(model, eps, seed, steps, targets, restarts):
    import torchattacks

    # torchattacks tries the top n_classes - 1 wrong classes: n_classes = targets + 1
    return torchattacks.APGDT(model, norm="Linf", eps=eps, steps=steps, n_restarts=restarts,
                              seed=seed, n_classes=targets + 1)


def _fab_t(model, eps, seed, steps, targets, restarts):
    import torchattacks
    return torchattacks.FAB(model, norm="Linf", eps=eps, steps=steps, n_restarts=restarts,
                            seed=seed, multi_targeted=True, n_classes=targets + 1)


def _square(model, eps, seed, queries, restarts):
    import torchattacks
    return torchattacks.Square(model, norm="Linf", eps=eps, n_queries=queries, n_restarts=restarts,
                               seed=seed)


def _steps_label(kind: str, p: dict) -> str:
    return f"{kind}({p['steps']})"


def _targeted_label(kind: str, p: dict) -> str:
    return f"{kind}({p['steps']}×{p['targets']})"


# Each cost counts torchattacks' own passes: APGD's accuracy forward and, per restart (and
# target), its first gradient before the steps; Square's accuracy forward and, per restart, its
# first query (an upper bound: Square stops querying an image once it is broken).
KINDS: dict[str, StrongKind] = {
    "apgd_ce": StrongKind({"steps": 100, "restarts": 1},
                          lambda p, fb, fwd: (p["steps"] + 1) * p["restarts"] * fb + fwd, _apgd("ce"), _steps_label),
    "apgd_dlr": StrongKind({"steps": 100, "restarts": 1},
                           lambda p, fb, fwd: (p["steps"] + 1) * p["restarts"] * fb + fwd, _apgd("dlr"),
                           _steps_label),
    "apgd_t": StrongKind({"steps": 100, "targets": 9, "restarts": 1},
                         lambda p, fb, fwd: (p["steps"] + 1) * p["targets"] * p["restarts"] * fb + fwd, _apgd_t,
                         _targeted_label),
    # FAB-T: per step a forward and the gradient of two logits, plus its projections
    "fab_t": StrongKind({"steps": 100, "targets": 9, "restarts": 1},
                        lambda p, fb, fwd: p["steps"] * p["targets"] * p["restarts"] * (fb + fwd), _fab_t,
                        _targeted_label),
    "square": StrongKind({"queries": 5000, "restarts": 1},
                         lambda p, fb, fwd: ((p["queries"] + 1) * p["restarts"] + 1) * fwd, _square,
                         lambda kind, p: f"square({p['queries']})", black_box=True),
}


def _kind(name: str) -> StrongKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown strong-attack kind {name!r}: expected one of {', '.join(KINDS)}") from None


def resolved(entry: dict) -> dict:
    """An ensemble entry's parameters with the kind's defaults filled in (``kind`` left out)."""
    kind = _kind(entry["kind"])
    return {**kind.params, **{k: v for k, v in entry.items() if k != "kind"}}


def problems(key: str, entry: dict) -> list[str]:
    """Config problems of one ensemble entry: parameters its kind does not take."""
    if entry["kind"] not in KINDS:
        return [f"{key}: unknown strong-attack kind {entry['kind']!r}; expected one of {', '.join(KINDS)}"]
    unused = set(entry) - {"kind"} - set(KINDS[entry["kind"]].params)
    if unused:
        return [f"{key} ({entry['kind']}): {sorted(unused)} do not apply to this attack "
                f"(it takes {', '.join(KINDS[entry['kind']].params)})"]
    return []


def flops(entry: dict, fb: float, fwd: float) -> float:
    """FLOPs per attacked image of one ensemble entry."""
    return _kind(entry["kind"]).cost(resolved(entry), fb, fwd)


def label(entry: dict) -> str:
    """Short name of one ensemble entry for tables and logs, e.g. ``apgd_t(100×3)``."""
    return _kind(entry["kind"]).label(entry["kind"], resolved(entry))


def build(model, entry: dict, eps: float, seed: int):
    """The torchattacks attack of one ensemble entry (L∞, radius ``eps`` in pixel units)."""
    return _kind(entry["kind"]).build(model, eps, seed, **resolved(entry))
