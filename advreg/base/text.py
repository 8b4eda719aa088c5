"""How a value reads as text, declared once for every place that shows one (table cells,
advreg.figures.cells; the regime and claim tables, advreg.claims.register.as_text; rule params in
the report, advreg.base.params_text): the missing mark, infinity, yes/no, and the words a Python
value printed as-is would leave behind. Never a Python repr."""
from __future__ import annotations

import math

MISSING = "–"      # None, NaN, pandas' NA
INF, NEG_INF = "∞", "−∞"
YES, NO = "yes", "no"
# text that str() of a Python or pandas value leaves behind, and what a reader is shown instead
PYTHON_WORDS = {"inf": INF, "-inf": NEG_INF, "nan": MISSING, "NaN": MISSING, "None": MISSING,
                "<NA>": MISSING}


def special_number(x: float, missing: str = MISSING) -> str | None:
    """The text of a number that is not a plain value (NaN: ``missing``; ±inf: ∞), else None."""
    if math.isnan(x):
        return missing
    if math.isinf(x):
        return INF if x > 0 else NEG_INF
    return None


def yes_no(flag: bool) -> str:
    return YES if flag else NO
