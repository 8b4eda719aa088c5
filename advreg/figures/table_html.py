"""A table as one self-contained HTML page for the Snakemake report (which shows HTML inline and
offers a CSV only as a download): pandas' Styler, every value printed, columns sortable by a
click, the caption on top, and colours with one meaning on every page: green is better, red is
worse (the legend under the caption says how each column is scaled).

- Accuracies share one FIXED scale (0-100, or 0-1 for a table of fractions) in bands of a tenth of
  it: a difference within a band shows no colour change, so 98.00 and 98.67 (2 test images of 300,
  well under one binomial standard error) look alike, as they should; the scale never stretches to
  the table's own min and max.
- Signed quantities (differences, gaps, gains) sit on a diverging scale centred on 0, oriented so
  that green is better: for a gap or a difference smaller is better, for a gain larger.
- Verdict columns are coloured by verdict.
- Quantities that are neither good nor bad by themselves (ratios, seconds, decay lengths, norms,
  margins) and counts are not coloured.
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import ListedColormap

# Columns that hold an interval half-width, a count or a seed: printed, not coloured.
_PLAIN = ("ci95", "seeds", "seed", "n", "images", "k", "eps", "eps_255", "zeta", "beta")
# Quantities with no better direction of their own: printed, not coloured.
_NEUTRAL = ("ratio", "seconds", "decay", "rms", "linf", "l2", "margin", "product", "normalizer", "norms",
            "peak", "fraction", "spectral")
# Signed quantities: smaller is better / larger is better (a diverging scale centred on 0).
_LOWER_BETTER = ("difference", "gap", "drop", "minus")
_HIGHER_BETTER = ("gain", "rho")
BANDS = 10
# Red (worse) → green (better), cut into BANDS steps for the accuracies.
_CMAP = colormaps["RdYlGn"]
_BANDED = ListedColormap(_CMAP(np.linspace(0.05, 0.95, BANDS)), name="RdYlGn_banded")
VERDICT_COLOURS = {"supported": "#b7e1a1", "contradicted": "#f4a6a6", "inconclusive": "#fde5a5",
                   "not tested": "#e4e4e4"}
LEGEND = ("Colour: green is better, red is worse, in every column that is coloured. Accuracies: one "
          "fixed scale from 0 to 100 % in bands of 10 points (a smaller difference shows no change). "
          "Differences and gaps (smaller is better) and gains (larger is better): a scale centred on "
          "0. Verdicts: supported green, contradicted red, inconclusive amber, not tested grey. "
          "Counts, intervals, ratios, times, lengths and norms: not coloured.")

_SORT_JS = """
<script>
// Click a column header to sort the rows by it (numbers numerically); click again to reverse.
document.querySelectorAll("table.advreg").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.style.cursor = "pointer";
    th.title = "sort";
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      var key = function (r) {
        var c = r.children[col], t = c ? c.textContent.trim() : "", v = parseFloat(t);
        return isNaN(v) ? t : v;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x === "number" && typeof y === "number") return dir * (x - y);
        return dir * String(x).localeCompare(String(y));
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
</script>
"""

_CSS = """
<style>
body { font-family: sans-serif; font-size: 13px; margin: 8px; }
p.caption { max-width: 70em; color: #333; }
p.legend { max-width: 70em; color: #555; font-size: 12px; }
table.advreg { border-collapse: collapse; }
table.advreg th, table.advreg td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
table.advreg th { background: #f3f3f3; position: sticky; top: 0; }
table.advreg td:first-child, table.advreg th:first-child { text-align: left; }
</style>
"""


def _kind(name: str, series: pd.Series) -> str | None:
    """How a column is coloured: "verdict", "lower", "higher", "accuracy", or None (not at all)."""
    name = str(name).lower()
    if name.startswith("verdict"):
        return "verdict"
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    if any(name == p or name.endswith(" " + p) or name.endswith("_" + p) for p in _PLAIN):
        return None
    if name.startswith(("n_", "epochs")):  # counts (n_train, n_test, epochs_trained)
        return None
    if any(k in name for k in _LOWER_BETTER):
        return "lower"
    if any(k in name for k in _HIGHER_BETTER):
        return "higher"
    if any(k in name for k in _NEUTRAL):
        return None
    return "accuracy"


def _verdict_css(text) -> str:
    t = str(text).lower()
    for verdict, colour in VERDICT_COLOURS.items():
        if t.startswith(verdict):
            return f"background-color: {colour}"
    return ""


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    return df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df.copy()


def table_html(df: pd.DataFrame, caption: str = "", title: str = "",
               values: pd.DataFrame | None = None) -> str:
    """The page: caption and colour legend, then the table (see the module's docstring for the
    colours). ``values``: the numbers behind cells shown as text (e.g. "97.1 ± 0.4" cells coloured
    by their mean), same rows, columns by name."""
    flat = _flat(df)
    numbers = flat if values is None else _flat(values)
    kinds = {c: _kind(c, numbers[c]) for c in numbers.columns if c in flat.columns}
    acc = [c for c, k in kinds.items() if k == "accuracy"]
    gmap = numbers[acc].to_numpy(dtype=float) if acc else np.zeros((0, 0))
    finite = gmap[np.isfinite(gmap)]
    fractions = bool(finite.size) and finite.min() >= 0 and finite.max() <= 1.0
    # the precision the effects need: a fraction's 2 decimals would hide a 0.4-point effect
    styler = flat.style.hide(axis="index").format(precision=4 if fractions else 2, na_rep="–")
    # long text (a quoted claim, a verdict with its reason) wraps in a column wide enough to read
    wide = [c for c in flat.columns if flat[c].dtype == object and flat[c].astype(str).str.len().mean() > 40]
    if wide:
        styler = styler.set_table_styles({c: [{"selector": "td", "props": "min-width: 24em; max-width: 40em; "
                                                "white-space: normal; text-align: left"}] for c in wide},
                                         overwrite=False)
    if acc:
        top = 1.0 if fractions else 100.0
        styler = styler.background_gradient(cmap=_BANDED, subset=acc, vmin=0.0, vmax=top, gmap=gmap,
                                            axis=None, text_color_threshold=0.3)
    for c, k in kinds.items():
        if k in ("lower", "higher"):
            v = numbers[c].to_numpy(dtype=float)
            finite = v[np.isfinite(v)]
            span = float(np.abs(finite).max()) if finite.size else 0.0
            if span > 1e-12:
                cmap = _CMAP.reversed() if k == "lower" else _CMAP
                styler = styler.background_gradient(cmap=cmap, subset=[c], vmin=-span, vmax=span, gmap=v,
                                                    text_color_threshold=0.3)
        elif k == "verdict":
            styler = styler.map(_verdict_css, subset=[c])
    # a fixed id (pandas draws a random one): the same table gives the same bytes in every run
    styler = styler.set_table_attributes('class="advreg"').set_uuid("advreg")
    head = f"<h3>{html.escape(title)}</h3>" if title else ""
    cap = (f'<p class="caption">{html.escape(caption)}</p>' if caption else "") + \
        (f'<p class="legend">{html.escape(LEGEND)}</p>' if any(kinds.values()) else "")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">" + _CSS + "</head><body>" + head + cap
            + styler.to_html() + _SORT_JS + "</body></html>\n")
