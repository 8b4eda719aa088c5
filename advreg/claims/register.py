"""The claims register (advreg/reference/claims.yaml) and the arithmetic of a verdict: the two
kinds of claim, the seeds that would settle an open one, and the regime check. Pure functions on
numbers; the tables are read by advreg.jobs.verdicts.

A claim's effect is measured once per seed and summarised as mean m ± half-width h of its 95 %
Student-t interval over the n seeds (advreg.claims.statistics.mean_ci).

- *superiority* ("A beats B", "SN raises test accuracy"): with the claimed direction ``above``
  (``below``), **supported** when m − h > τ (m + h < τ), **contradicted** when the whole interval
  lies on the other side, **inconclusive** otherwise or with one seed;
- *noninferiority* ("no loss of performance", "without compromising"): the effect is above −δ;
  **supported** when m − h > −δ, **contradicted** when m + h < −δ (a gain is no loss);
- *equivalence* ("performed equally well", "approaches"): **supported** when the whole interval
  lies inside ±δ, **contradicted** when it lies wholly outside it (m − h > δ or m + h < −δ),
  **inconclusive** otherwise.

These are the *direction* verdicts. Each is two one-sided tests at 2.5 % (the 95 % interval's
ends), so with no true effect (an effect on the threshold) a case reads "supported" or
"contradicted" in at most 5 % of runs; ``p_values`` gives the same tests' p-values, which combine a
claim's cases (``combine``) and correct across claims (``holm``).

A quantitative claim gets a second, *magnitude* verdict (``magnitude``): whether the paper's own
number is compatible with the interval, widened by a stated tolerance.
"""
from __future__ import annotations

import math
import re

import yaml
from scipy import stats

from advreg.base.text import INF, MISSING, special_number
from advreg.claims.published import read_text

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
JUDGED = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)   # the verdicts of a case the run measured
NOT_TESTED = "not tested"
NOT_TESTED_STAND_IN = "not tested (stand-in data)"   # a dataset replaced by a generated stand-in (advreg.data.stand_in)
NOT_TESTED_REHEARSAL = "not tested (rehearsal)"      # a rehearsal run (config `rehearsal: true`): cut sizes, no result
# the direction verdict's kinds, and how a page names each
KIND_WORDS = {"superiority": "superiority", "noninferiority": "non-inferiority", "equivalence": "equivalence"}
KINDS = tuple(KIND_WORDS)
REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
UNDECIDED = "undecided (one seed)"
TOO_WIDE = "undecided (interval wider than the tolerance)"
ALPHA = 0.025   # each one-sided test: the end of the 95 % two-sided interval
ELLIPSIS = "…"


def load_register() -> dict:
    """The register: ``claims`` (a list of entries) and ``regimes`` (indicator sets by name)."""
    return yaml.safe_load(read_text("claims.yaml"))


# ----------------------------------------------------------------------------- verdicts

def verdict(kind: str, mean: float, half: float, threshold: float, direction: str = "above") -> str:
    """The rule of the module docstring; ``threshold``: τ (superiority) or δ (equivalence)."""
    if kind not in KINDS:
        raise ValueError(f"claim kind {kind!r}; expected one of {KINDS}")
    if math.isnan(mean) or math.isnan(half):
        return INCONCLUSIVE
    lo, hi = mean - half, mean + half
    if kind == "noninferiority":   # "effect > −δ" is superiority above −δ
        kind, threshold, direction = "superiority", -threshold, "above"
    if kind == "equivalence":
        if -threshold < lo and hi < threshold:
            return SUPPORTED
        if lo > threshold or hi < -threshold:
            return CONTRADICTED
        return INCONCLUSIVE
    if direction == "below":   # "effect < τ" is "−effect > −τ"
        lo, hi, threshold = -hi, -lo, -threshold
    if lo > threshold:
        return SUPPORTED
    if hi < threshold:
        return CONTRADICTED
    return INCONCLUSIVE


def margin(kind: str, mean: float, threshold: float) -> float:
    """How far the mean lies from the nearest boundary of the verdict (≥ 0): the half-width the
    interval must shrink below for the verdict to be decided at this mean."""
    if kind == "equivalence":
        return abs(threshold - abs(mean))
    if kind == "noninferiority":
        return abs(mean + threshold)
    return abs(mean - threshold)


def p_values(kind: str, values, threshold: float, direction: str = "above") -> tuple[float, float]:
    """(p of "supported", p of "contradicted"): the one-sided t-tests behind ``verdict``, on the
    per-seed ``values`` (NaN with fewer than two). A case is supported exactly when its first p is
    below ``ALPHA`` and contradicted when its second is (for equivalence: the larger of the two
    one-sided p-values for "inside ±δ", the smaller for "outside")."""
    v = [float(x) for x in values if not math.isnan(float(x))]
    n = len(v)
    if n < 2:
        return math.nan, math.nan
    m = sum(v) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1))
    se = sd / math.sqrt(n)

    def above(tau: float) -> float:   # p of H0 "effect ≤ tau" against "effect > tau"
        if se == 0:                     # no spread: decided only strictly past tau, as ``verdict``
            return 0.0 if m > tau else 1.0
        return float(stats.t.sf((m - tau) / se, n - 1))

    def below(tau: float) -> float:   # p of H0 "effect ≥ tau" against "effect < tau"
        if se == 0:
            return 0.0 if m < tau else 1.0
        return float(stats.t.cdf((m - tau) / se, n - 1))

    if kind == "noninferiority":
        kind, threshold, direction = "superiority", -threshold, "above"
    if kind == "equivalence":
        return max(above(-threshold), below(threshold)), min(above(threshold), below(-threshold))
    if direction == "below":
        return below(threshold), above(threshold)
    return above(threshold), below(threshold)


def combine(verdicts: list[str], p_contradicted: list[float], rule: str = "every", untested: int = 0) -> str:
    """One verdict of a claim from its cases' (register ``cases``). ``every``: supported only if
    every case is (an intersection-union test: the claim's level is each case's 2.5 %, no correction
    needed), and none of the claim's cases on these datasets went untested (``untested``: a model
    or scheme the run lacks); contradicted if any case is after Bonferroni-Holm across the cases
    (Holm's first step: the smallest p below ALPHA / k); inconclusive otherwise. No case: not
    tested."""
    if rule != "every":
        raise ValueError(f"cases rule {rule!r}; expected 'every'")
    if not verdicts:
        return NOT_TESTED
    if all(v == SUPPORTED for v in verdicts) and not untested:
        return SUPPORTED
    ps = [p for p in p_contradicted if not math.isnan(p)]
    if ps and min(ps) < ALPHA / (len(verdicts) + untested):
        return CONTRADICTED
    return INCONCLUSIVE


def holm(p: list[float], alpha: float = ALPHA) -> list[bool]:
    """Bonferroni-Holm step-down across a family: which hypotheses are rejected at family-wise
    level ``alpha`` (NaN: never rejected)."""
    order = sorted((x, i) for i, x in enumerate(p) if not math.isnan(x))
    out = [False] * len(p)
    k = len(order)
    for rank, (x, i) in enumerate(order):
        if x >= alpha / (k - rank):
            break
        out[i] = True
    return out


def magnitude(mean: float, half: float, paper: float, tolerance: float, relation: str = "about") -> str:
    """Whether the paper's number is compatible with the run's interval: ``about``, the paper's
    value lies in [m − h − tol, m + h + tol]; ``at_least`` ("over X"), m + h + tol ≥ X. Outside:
    not reproduced. Inside with an interval wider than the tolerance (h > tol) it is not evidence
    either way, since noise alone would put any number inside: undecided. With one seed there is
    no interval: undecided."""
    if math.isnan(paper):
        return MISSING
    if relation not in ("about", "at_least"):
        raise ValueError(f"magnitude relation {relation!r}; expected 'about' or 'at_least'")
    if math.isnan(mean) or math.isnan(half):
        return UNDECIDED
    lo, hi = mean - half - tolerance, mean + half + tolerance
    inside = hi >= paper if relation == "at_least" else lo <= paper <= hi
    if not inside:
        return NOT_REPRODUCED
    return REPRODUCED if half <= tolerance else TOO_WIDE


def seeds_to_settle(kind: str, mean: float, sd: float, n: int, threshold: float, cap: int = 10_000) -> str:
    """The smallest number of seeds N ≥ 2 at which the observed mean and standard deviation would
    give an interval that clears the threshold: t(0.975, N − 1) · sd / √N < margin (``margin``),
    i.e. the mean and spread are assumed to stay as observed. A text for the table."""
    if n == 0:
        return "unknown: no seed measured"
    if n < 2 or math.isnan(sd):
        return "unknown: one seed gives no spread; run at least 2"
    gap = margin(kind, mean, threshold)
    if gap == 0 or math.isnan(gap):
        return "never: the mean lies on the threshold"
    if sd == 0:
        return str(max(n, 2))
    for big_n in range(2, cap + 1):
        if stats.t.ppf(0.975, big_n - 1) * sd / math.sqrt(big_n) < gap:
            return str(big_n)
    return f"> {cap:,}"


# ----------------------------------------------------------------------------- quotes

def normalize(text: str) -> str:
    """Whitespace collapsed and typographic quotes/apostrophes made plain, for matching quotes."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip()


def claims_of(register: dict) -> list[list[dict]]:
    """The register's claims: its entries grouped by the sentence they quote (paper and quote), in
    register order. Entries that read one sentence (two halves of it, or several effects) are one
    claim: its verdict combines all their cases, and it counts once."""
    groups: dict[tuple, list[dict]] = {}
    for e in register["claims"]:
        groups.setdefault((e["paper"], normalize(e["quote"])), []).append(e)
    return list(groups.values())


def bound_text(entry: dict) -> str:
    """The bound a claim's interval is judged against, in the effect's unit (register ``kind``,
    ``threshold``, ``direction``, ``unit``)."""
    t, unit = float(entry["threshold"]), entry["unit"]
    if entry["kind"] == "equivalence":
        return f"within ± {t:g} {unit}"
    if entry["kind"] == "noninferiority":
        return f"> −{t:g} {unit}"
    return f"{'>' if entry.get('direction', 'above') == 'above' else '<'} {t:g} {unit}"


def quote_found(quote: str, source: str, max_gap: int = 200) -> bool:
    """Whether ``quote`` occurs word for word in ``source``: its fragments between ``…`` (the
    register's mark for an elision, e.g. a number the text extraction lost) in order, each within
    ``max_gap`` characters of the one before (an elision stays inside its sentence)."""
    src = normalize(source)
    frags = [normalize(f) for f in quote.split(ELLIPSIS) if normalize(f)]

    def rest_found(i: int, pos: int) -> bool:
        if i == len(frags):
            return True
        at = src.find(frags[i], pos)
        while at >= 0 and (i == 0 or at - pos <= max_gap):
            if rest_found(i + 1, at + len(frags[i])):
                return True
            at = src.find(frags[i], at + 1)
        return False
    return rest_found(0, 0)


# ----------------------------------------------------------------------------- regime

def label(value) -> str:
    """A number as the tables write it: 1.0 → '1', inf → 'inf' (β labels, ζ, ε)."""
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def label_text(value) -> str:
    """A label as a reader reads it: ``label``, with ∞ for inf (a β grid, β* per seed)."""
    return INF if label(value) == "inf" else label(value)


def as_text(v, missing: str = MISSING) -> str:
    """A run or paper value as text, the one way the regime tables and the summary write it: a list
    (widths, a β grid) as 32/32/64 or ∞/1/2, ∞ for inf, integers with thousands separators, other
    floats to one decimal; ``missing`` for None or NaN (the marks: advreg.base.text). Never a
    Python repr."""
    if v is None:
        return missing
    if isinstance(v, (list, tuple)):
        return "/".join(label_text(x) for x in v)
    if isinstance(v, float):
        if special_number(v, missing) is not None:
            return special_number(v, missing)
        return label(v) if v == int(v) and abs(v) >= 100 else f"{v:.1f}"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def check_indicator(run, paper, check: dict) -> tuple[bool | None, str]:
    """(within?, the tolerance in words) for one regime indicator; ``None``: shown, not judged.

    ``check``: ``{abs: t}`` |run − paper| ≤ t; ``{max_over: t}`` run ≤ paper + t; ``{min_ratio: r}``
    run ≥ r · paper; ``{min: v}`` run ≥ v; ``{equal: true}`` run == paper; ``{covers: true}`` the
    run's values include every paper value; ``{info: true}`` not judged.
    """
    if run is None or (isinstance(run, float) and math.isnan(run)):
        return None, "not measured in this run"
    if "info" in check:
        return None, "shown, not judged"
    if "abs" in check:
        return abs(float(run) - float(paper)) <= check["abs"], f"± {check['abs']:g}"
    if "max_over" in check:
        return float(run) <= float(paper) + check["max_over"], f"≤ paper + {check['max_over']:g}"
    if "min_ratio" in check:
        return float(run) >= check["min_ratio"] * float(paper), f"≥ {check['min_ratio']:g} × paper"
    if "min" in check:
        return float(run) >= check["min"], f"≥ {check['min']:g}"
    if "equal" in check:
        return list(run) == list(paper) if isinstance(paper, list) else run == paper, "equal"
    if "covers" in check:
        return set(map(label, paper)) <= set(map(label, run)), "includes every paper value"
    raise ValueError(f"regime check {check!r}; expected one of abs, max_over, min_ratio, min, equal, covers, info")
