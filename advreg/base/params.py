"""One declaration per hyperparameter: its type and allowed range, checked before any job runs.

Method classes (``advreg.training.methods``) and attack kinds (``advreg.attacks.whitebox``) declare their
parameters with ``Param``; the config check (``advreg.workflow.config_check``) and the code that reads a value use
the same declaration, so a value the check accepts is one the code can use.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

# PyYAML follows YAML 1.1: `1e-3` (no dot in the mantissa) is read as a *string*, `1.0e-3` as a
# float. A string that Python reads as a number is almost always this mistake.
_NUMBER_LIKE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def yaml_number_hint(value) -> str:
    """A hint for a string that looks like a number (YAML 1.1 reads ``1e-3`` as a string)."""
    if isinstance(value, str) and _NUMBER_LIKE.match(value.strip()):
        return (f" (YAML read {value!r} as a string: write a number with a dot and a signed "
                f"exponent, e.g. 1.0e-3, or drop the quotes)")
    return ""


@dataclass(frozen=True)
class Param:
    """A hyperparameter's type and range: ``kind`` is 'number', 'int', 'bool', 'str' or 'choice'.

    ``lo``/``hi`` bound numbers (``lo_open``/``hi_open``: exclusive); ``choices`` lists the values
    of a 'choice'. ``doc`` says what it is (read beside the declaration; messages use ``expected``).
    """
    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple = ()
    doc: str = ""

    def expected(self) -> str:
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "str":
            return "a string"
        what = "an integer" if self.kind == "int" else "a number"
        lo = None if self.lo is None else f"{'>' if self.lo_open else '≥'} {self.lo:g}"
        hi = None if self.hi is None else f"{'<' if self.hi_open else '≤'} {self.hi:g}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        return f"{what} {bounds}" if bounds else what

    def problem(self, value) -> str | None:
        """None when ``value`` is allowed, else why not (without the key)."""
        if self.kind == "choice":
            ok = value in self.choices
        elif self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "str":
            ok = isinstance(value, str)
        else:
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            if self.kind == "int":  # 40.0 is not an iteration count: range(40.0) fails in the job
                numeric = isinstance(value, int) and not isinstance(value, bool)
            ok = numeric and math.isfinite(value) and self._in_range(value)
        if ok:
            return None
        return f"{value!r} is not allowed; expected {self.expected()}{yaml_number_hint(value)}"

    def _in_range(self, v) -> bool:
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        if self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi):
            return False
        return True


# Shared declarations (the same quantity means the same thing wherever it appears).
EPS_255 = Param("number", lo=0, lo_open=True, doc="L∞ strength in units of 1/255")
STEPS = Param("int", lo=1, doc="iterations")
STEP_SIZE_255 = Param("number", lo=0, lo_open=True, doc="step size in units of 1/255")
RANDOM_START = Param("bool", doc="start from a uniform point of the ε-ball")
WEIGHT = Param("number", lo=0, hi=1, doc="a mixing weight in [0, 1]")


def check_params(owner: str, cfg: dict, required: dict[str, Param], optional: dict[str, Param],
                 ignore: tuple[str, ...] = (), note: str = "") -> list[str]:
    """Every problem of one entry (unknown, missing and bad values), each naming ``owner.key``
    (``note``, e.g. "(kind 'pgd')", follows the key path)."""
    problems = []
    known = {**required, **optional}
    unknown = sorted(set(cfg) - set(known) - set(ignore))
    if unknown:
        problems.append(f"{owner}{note}: unknown parameter(s) {unknown}; expected {sorted(known)}")
    missing = sorted(set(required) - set(cfg))
    if missing:
        problems.append(f"{owner}{note}: missing parameter(s) {missing}")
    for key, spec in known.items():
        if key in cfg:
            why = spec.problem(cfg[key])
            if why:
                problems.append(f"{owner}.{key}{note}: {why}")
    return problems
