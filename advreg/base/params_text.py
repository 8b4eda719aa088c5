"""Rule params a person reads (issue 41).

The HTML report shows, beside each result, the producing rule's params as Snakemake formats them:
``f"{name}={value}"`` (``snakemake.logging.format_dict``), i.e. Python reprs such as
``methods=['clean', 'wdecay']``, ``max_test=None`` or ``rehearsal=False``. A rule wraps such a
param in :func:`shown`; its value then prints as plain text (``methods=clean, wdecay``,
``max_test=all``, ``rehearsal=no``) while staying the same value everywhere else:

* the job's script receives exactly the original value: every wrapper pickles as the plain
  built-in (``list``, ``dict``, ``None``, ``bool``, ``float``), so the unpickled ``snakemake.params``
  holds no wrapper and needs no import of this module;
* Snakemake's params rerun trigger records ``repr(value)``: every wrapper's ``repr`` is the plain
  value's, so wrapping a param re-runs nothing and a changed value is still noticed;
* in the Snakemake process a wrapped list/dict/float compares equal to the original and is an
  instance of its type (``None`` and ``bool`` cannot be subclassed: their stand-ins only print).

``shown`` returns a params *function* (Snakemake expands a plain list or str param, which would
drop the wrapper), wrapping what a given function returns, or the given constant.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from advreg.base.text import INF, MISSING, NEG_INF, special_number, yes_no

__all__ = ["shown", "text", "plain", "NONE_WORDS"]

# What None means under a key of a nested dict (run facts, regime settings): a count that is not
# cut is "all", a stage that is not run "not run"; any other None prints as the `none` word.
NONE_WORDS = {
    "max_test": "all",
    "clean_max_test": "all",
    "max_data": "all",
    "lrc": "not run",
}
EMPTY = "none"   # an empty list or dict, or an empty string


def _number(x: float) -> str:
    special = special_number(x)
    if special is not None:
        return special
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)        # the shortest repr that round-trips: 0.36787944, 0.3


def text(value: Any, none: str = MISSING, key: Any = None) -> str:
    """``value`` as plain text: lists "a, b", dicts "key: value; key: value" (a nested dict or list
    in parentheses), None as ``none`` (or what it means under ``key``, NONE_WORDS), booleans yes/no,
    inf/"inf" as ∞, floats without needless decimals."""
    if value is None:
        return NONE_WORDS.get(key, none) if isinstance(key, str) else none
    if isinstance(value, _Shown):
        return str(value)
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return {"inf": INF, "-inf": NEG_INF, "": EMPTY}.get(value, value)
    if isinstance(value, Mapping):
        if not value:
            return EMPTY
        return "; ".join(f"{text(k, none)}: {_inner(v, none, k, '; ')}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        if not value:
            return EMPTY
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return ", ".join(_inner(v, none, key, ", ") for v in items)
    return str(value)


def _inner(value: Any, none: str, key: Any, sep: str) -> str:
    """A nested value: in parentheses where its own separators would run into the outer ones."""
    s = text(value, none, key)
    nested = isinstance(value, Mapping) and len(value) > 0 or (
        isinstance(value, (list, tuple, set, frozenset)) and len(value) > 1 and sep == ", ")
    return f"({s})" if nested else s


def count_text(value: Any, noun: str) -> str:
    """A long dict of files as a count per top-level key: "robustness: 3 tables; lrc: 9 tables"."""
    def leaves(v):
        if isinstance(v, Mapping):
            return sum(leaves(x) for x in v.values())
        if isinstance(v, (list, tuple, set, frozenset)):
            return sum(leaves(x) for x in v)
        return 0 if v is None else 1

    def n(k):
        return f"{k} {noun}" if k == 1 else f"{k} {noun}s"

    if isinstance(value, Mapping) and value:
        return "; ".join(f"{text(k)}: {n(leaves(v))}" for k, v in value.items())
    return n(leaves(value))


class _Shown:
    """Mixin of the wrappers: readable str/format, the plain value's repr and pickle."""
    __slots__ = ()

    def _text(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self._text()

    def __format__(self, spec: str) -> str:
        return format(self._text(), spec)


class ShownList(_Shown, list):
    def __init__(self, value, none: str = MISSING):
        super().__init__(value)
        self.none = none

    def _text(self) -> str:
        return text(list(self), self.none)

    def __reduce__(self):
        return list, (list(self),)


class ShownDict(_Shown, dict):
    def __init__(self, value, none: str = MISSING, count: str | None = None):
        super().__init__(value)
        self.none, self.count = none, count

    def _text(self) -> str:
        return count_text(dict(self), self.count) if self.count else text(dict(self), self.none)

    def __reduce__(self):
        return dict, (dict(self),)


class ShownFloat(_Shown, float):
    def _text(self) -> str:
        return _number(float(self))

    def __format__(self, spec: str) -> str:
        return self._text() if not spec else float.__format__(self, spec)

    def __reduce__(self):
        return float, (float(self),)


class ShownBool(_Shown, int):
    """A bool (which cannot be subclassed) that prints yes/no, and repr and pickles as the bool."""
    def _text(self) -> str:
        return "yes" if self else "no"

    def __repr__(self) -> str:
        return repr(bool(self))

    def __reduce__(self):
        return bool, (bool(self),)


class ShownNone(_Shown, str):
    """None (which cannot be subclassed) as the word that says what it means here ("all"). A str so
    that Snakemake records it (its params record keeps built-in values only) as ``repr``: "None",
    as it recorded the None before. It pickles as None: a job's script receives None itself."""
    def _text(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return "None"

    def __reduce__(self):
        return type(None), ()


def wrap(value: Any, none: str = MISSING, count: str | None = None) -> Any:
    """``value`` wrapped so that it prints as text (a str, int or other scalar as it is)."""
    if isinstance(value, _Shown):
        return value
    if value is None:
        return ShownNone(none)
    if isinstance(value, bool):
        return ShownBool(value)
    if isinstance(value, float):
        return ShownFloat(value)
    if type(value) is dict:   # exactly: a wrapper pickles as the built-in, so a subclass keeps its own type
        return ShownDict(value, none, count)
    if type(value) is list:
        return ShownList(value, none)
    return value


def plain(value: Any) -> Any:
    """The value a wrapper stands for (what a job's script receives)."""
    if isinstance(value, ShownNone):
        return None
    if isinstance(value, ShownBool):
        return bool(value)
    if isinstance(value, ShownFloat):
        return float(value)
    if isinstance(value, ShownDict):
        return dict(value)
    if isinstance(value, ShownList):
        return list(value)
    return value


def shown(value: Any, none: str = MISSING, count: str | None = None) -> Callable:
    """A rule param that prints as plain text in the report (module docstring).

    ``value``: the param's value, or a params function of the wildcards (and of whatever else it
    names: input, output, threads, resources) whose result is wrapped. ``none``: the word None
    stands for (e.g. "all" for a count of test images that is not cut). ``count``: a noun; a dict
    then prints as the number of its entries per top-level key ("3 tables")."""
    if callable(value):
        @functools.wraps(value)
        def param(wildcards, **aux):
            return wrap(value(wildcards, **aux), none, count)
        return param

    shown_value = wrap(value, none, count)

    def param(wildcards):
        return shown_value
    return param
