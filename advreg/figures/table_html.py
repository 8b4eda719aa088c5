"""A table as one self-contained HTML page for the Snakemake report (which shows HTML inline and
offers a CSV only as a download): pandas' Styler with a colour scale fitted to the table's own
values, every value printed, columns sortable by a click, the caption on top."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

# Columns that hold an interval half-width, a count or a seed: printed, not coloured.
_PLAIN = ("ci95", "seeds", "seed", "n", "images", "k", "eps", "eps_255", "zeta", "beta")
# Columns in other units than the table's accuracies: each gets a colour scale of its own.
_OWN_SCALE = ("ratio", "rho", "seconds", "decay", "rms", "linf", "l2", "gap", "margin", "product",
              "difference", "normalizer", "norms")

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
table.advreg { border-collapse: collapse; }
table.advreg th, table.advreg td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
table.advreg th { background: #f3f3f3; position: sticky; top: 0; }
table.advreg td:first-child, table.advreg th:first-child { text-align: left; }
</style>
"""


def _coloured(df: pd.DataFrame) -> list[str]:
    out = []
    for c in df.columns:
        name = str(c).lower()
        if any(name == p or name.endswith(" " + p) or name.endswith("_" + p) for p in _PLAIN):
            continue
        if name.startswith(("n_", "epochs")):  # counts (n_train, n_test, epochs_trained)
            continue
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            out.append(c)
    return out


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    return df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df.copy()


def table_html(df: pd.DataFrame, caption: str = "", title: str = "",
               values: pd.DataFrame | None = None) -> str:
    """The page: caption, then the table; one colour scale over the accuracy-like cells, fitted to
    their range (so 67-99 does not look uniform on a 0-100 scale), and one of its own for each column
    in other units (ratios, differences, decay lengths, ...). ``values``: the numbers behind cells
    shown as text (e.g. "97.1 ± 0.4" cells coloured by their mean), same rows, columns by name."""
    flat = _flat(df)
    numbers = flat if values is None else _flat(values)
    cols = [c for c in _coloured(numbers) if c in flat.columns]
    styler = flat.style.hide(axis="index").format(precision=2, na_rep="–")
    own = [c for c in cols if any(k in str(c).lower() for k in _OWN_SCALE)]
    shared = [c for c in cols if c not in own]
    for group in ([shared] if shared else []) + [[c] for c in own]:
        gmap = numbers[group].to_numpy(dtype=float)
        finite = gmap[np.isfinite(gmap)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            if hi - lo < 1e-12:
                hi = lo + 1.0
            styler = styler.background_gradient(cmap="viridis", subset=group, vmin=lo, vmax=hi,
                                                gmap=gmap, axis=None, text_color_threshold=0.45)
    # a fixed id (pandas draws a random one): the same table gives the same bytes in every run
    styler = styler.set_table_attributes('class="advreg"').set_uuid("advreg")
    head = f"<h3>{html.escape(title)}</h3>" if title else ""
    cap = f'<p class="caption">{html.escape(caption)}</p>' if caption else ""
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">" + _CSS + "</head><body>" + head + cap
            + styler.to_html() + _SORT_JS + "</body></html>\n")
