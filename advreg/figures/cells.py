"""How a table cell is shown, declared once for every table and figure of the pipeline: its text
(no Python repr: ∞, ✓ / FLAG, integers as integers, "–" for a missing value) and its colour.

A cell's colour follows the KIND its writer declares for the column, by the column's exact name
(``kinds={"clean": ACCURACY, ...}``); a column not declared is not coloured. Nothing is guessed
from a column's name (a substring rule once left a model called ``wdecay`` uncoloured because its
name contains "decay"). Green is better, red is worse, in every coloured column:

- ACCURACY (%): one fixed scale, 0 red to 100 green, in bands of 10 points: a difference within a
  band shows no change (98.00 vs 98.67 is 2 test images of 300), and the scale never stretches to
  the table's own range. The heat-map figures use the same colour map and scale (``ACCURACY_CMAP``).
- LOWER (a gap, a difference, smaller is better) and HIGHER (a gain, larger is better): a
  diverging scale centred on 0 (pale yellow), full colour at ±``SIGNED_SPAN`` points, the same for
  every table, so a 2.4-point gap and a 14.9-point gap are told apart wherever they are.
- VERDICT: by verdict. FLAG (a diagnostic): a raised flag is coloured as a problem; a healthy
  one (✓) is not coloured.
- NEUTRAL and COUNT: not coloured (ratios, ρ, seconds, norms, decay lengths, intervals, a diagnostic's
  raw measurement, a difference from a paper whose tolerance a flag column judges); COUNT prints as
  an integer.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, Normalize, to_hex

from advreg.base.text import INF, MISSING, NEG_INF, NO, PYTHON_WORDS, YES, special_number, yes_no

ACCURACY, LOWER, HIGHER, VERDICT, FLAG, COUNT, NEUTRAL = (
    "accuracy", "lower", "higher", "verdict", "flag", "count", "neutral")
KINDS = (ACCURACY, LOWER, HIGHER, VERDICT, FLAG, COUNT, NEUTRAL)

BANDS = 10
SIGNED_SPAN = 20.0   # points: a gap or gain of this size or more takes the scale's full colour
_DIVERGING = colormaps["RdYlGn"]   # red (worse) → pale yellow → green (better)
ACCURACY_CMAP = ListedColormap(_DIVERGING(np.linspace(0.05, 0.95, BANDS)), name="RdYlGn_banded")
ACCURACY_NORM = Normalize(0.0, 100.0)
PROBLEM = "#f4a6a6"
VERDICT_COLOURS = {"supported": "#b7e1a1", "contradicted": PROBLEM, "inconclusive": "#fde5a5",
                   "not tested": "#e4e4e4"}

RAISED, HEALTHY = "FLAG", "✓"

# what the legend says of each coloured kind: (what the columns are, how they are coloured)
_RULE_TEXT = {
    ACCURACY: ("Accuracies", "one fixed scale from 0 % (red) to 100 % (green) in bands of 10 points (a smaller "
                             "difference shows no change)"),
    LOWER: ("Gaps and differences, smaller is better", f"a scale centred on 0 (pale yellow), greener below, redder "
                                                       f"above, full colour at ±{SIGNED_SPAN:g} points"),
    HIGHER: ("Gains, larger is better", f"a scale centred on 0 (pale yellow), greener above, redder below, full "
                                        f"colour at ±{SIGNED_SPAN:g} points"),
    VERDICT: ("Verdicts", "supported green, contradicted red, inconclusive amber, not tested grey"),
    FLAG: ("Diagnostic flags", f"{RAISED} red (a problem), {HEALTHY} not coloured"),
}


def same_kind(columns, kind: str) -> dict[str, str]:
    """Every one of ``columns`` declared as ``kind`` (e.g. a matrix: every column an accuracy)."""
    return check({c: kind for c in columns})


def check(kinds: dict | None) -> dict[str, str]:
    """The declaration, with every kind one of KINDS (a typo would otherwise leave a column plain)."""
    kinds = dict(kinds or {})
    bad = {c: k for c, k in kinds.items() if k not in KINDS}
    if bad:
        raise ValueError(f"unknown column kind(s) {bad}; the kinds are {list(KINDS)}")
    return kinds


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not _is_bool(v)


def _missing(v) -> bool:
    return v is None or v is pd.NA or (_is_number(v) and math.isnan(v))


def flag_raised(v) -> bool | None:
    """A FLAG cell's state: True raised, False healthy, None missing (bool, or its text)."""
    if _is_bool(v):
        return bool(v)
    text = str(v).strip()
    return {RAISED: True, "True": True, HEALTHY: False, "ok": False, "False": False}.get(text)


def _number_format(kind: str | None, numbers: np.ndarray):
    """How a column's numbers are printed: accuracies and signed quantities with 2 decimals (the
    precision the effects need); counts, and any column of whole numbers, as integers; other
    quantities with 2 decimals too, unless the column holds a value that 2 decimals would hide
    (a margin of 0.0012 is not 0.00) or is huge: 4 significant digits then."""
    finite = numbers[np.isfinite(numbers)]
    if kind in (ACCURACY, LOWER, HIGHER):
        return "{:.2f}".format
    if kind == COUNT or (finite.size and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 1e15)):
        return "{:.0f}".format
    size = np.abs(finite[finite != 0])
    if size.size and (size.min() < 0.1 or size.max() >= 1e6):
        return "{:.4g}".format
    return "{:.2f}".format


def cell_text(v, kind: str | None = None, number=None) -> str:
    """One cell as the reader sees it (``number``: the column's number format)."""
    if _missing(v):
        return MISSING
    if kind == FLAG:
        raised = flag_raised(v)
        if raised is not None:
            return RAISED if raised else HEALTHY
    if _is_bool(v):
        return yes_no(bool(v))
    if _is_number(v):
        return special_number(float(v)) or (number or "{:.4g}".format)(float(v))
    text = str(v)
    if text.strip() in ("True", "False"):
        return cell_text(text.strip() == "True", kind)
    return PYTHON_WORDS.get(text.strip(), text)


def display_frame(df: pd.DataFrame, kinds: dict | None = None) -> pd.DataFrame:
    """Every cell of ``df`` as text (``cell_text``), columns keeping their names; the index as it
    is (format it by making it a column)."""
    kinds = check(kinds)
    out = []
    for j, c in enumerate(df.columns):
        col = df.iloc[:, j]
        nums = np.array([float(v) for v in col if _is_number(v)], dtype=float)
        fmt = _number_format(kinds.get(c), nums)
        out.append([cell_text(v, kinds.get(c), fmt) for v in col])
    return pd.DataFrame(dict(enumerate(out)), index=df.index).set_axis(df.columns, axis=1)


def parse_text(text: str):
    """A shown cell back to its value (the inverse of ``cell_text`` for the words it prints):
    "∞" → inf, "–" → nan, "✓"/"no" → False, "FLAG"/"yes" → True; other text unchanged (a test
    that compares a Markdown table with its CSV reads cells through this)."""
    t = str(text).strip()
    words = {INF: math.inf, NEG_INF: -math.inf, MISSING: math.nan, HEALTHY: False, NO: False,
             RAISED: True, YES: True}
    return words.get(t, t)


def rgba(kind: str | None, value) -> tuple | None:
    """The background of a numeric cell of ``kind`` (None: not coloured)."""
    if not _is_number(value) or not math.isfinite(value):
        return None
    if kind == ACCURACY:
        return ACCURACY_CMAP(ACCURACY_NORM(float(value)))
    if kind in (LOWER, HIGHER):
        sign = -1.0 if kind == LOWER else 1.0
        return _DIVERGING(float(np.clip(0.5 + sign * value / (2 * SIGNED_SPAN), 0.0, 1.0)))
    return None


def text_colour(background) -> str:
    """Light text on a dark ``background`` (any matplotlib colour; pandas' Styler rule: W3C relative
    luminance below 0.3), in a table cell and on a heat map alike."""
    from matplotlib.colors import to_rgba

    r, g, b = (x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in to_rgba(background)[:3])
    return "#f1f1f1" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.3 else "#000000"


def background(kind: str | None, value, text=None) -> str | None:
    """The background colour (hex) of a cell: ``value`` the number behind it, ``text`` what it
    shows (a verdict, a flag); None when the rule leaves it uncoloured."""
    if kind == VERDICT:
        t = str(text if text is not None else value).lower()
        return next((c for v, c in VERDICT_COLOURS.items() if t.startswith(v)), None)
    if kind == FLAG:
        return PROBLEM if flag_raised(value if text is None else text) else None
    colour = rgba(kind, value)
    return None if colour is None else to_hex(colour)


def cell_css(kind: str | None, value, text=None) -> str:
    colour = background(kind, value, text)
    return "" if colour is None else f"background-color: {colour}; color: {text_colour(colour)}"


def legend(kinds: dict, columns) -> str:
    """The colour rule as applied to this table: each coloured kind with the columns it colours."""
    kinds = check(kinds)
    parts = []
    for kind, (what, rule) in _RULE_TEXT.items():
        cols = [str(c) for c in columns if kinds.get(c) == kind]
        if cols:
            parts.append(f"{what} (columns {', '.join(cols)}): {rule}.")
    if not parts:
        return ""
    return " ".join(["Colour: green is better, red is worse.", *parts, "Other columns: not coloured."])


def percent_view(df: pd.DataFrame, columns) -> pd.DataFrame:
    """Fraction columns shown in % (× 100, the header marked ``PERCENT_SUFFIX``): a table whose CSV
    keeps fractions (read by other jobs) is shown in the same unit as every other table."""
    present = [c for c in columns if c in df.columns]
    return df.assign(**{c: 100 * df[c] for c in present}).rename(columns={c: percent_name(c) for c in present})


PERCENT_SUFFIX = " (%)"


def percent_name(column: str) -> str:
    return f"{column}{PERCENT_SUFFIX}"
