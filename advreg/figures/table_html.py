"""A table as one self-contained HTML page for the Snakemake report (which shows HTML inline and
offers a CSV only as a download), or as a fragment to embed in another page: pandas' Styler, every
value printed as a reader reads it (advreg.figures.cells: ∞, ✓ / FLAG, integers as integers),
columns sortable by a click, the caption on top, and the colour rule of advreg.figures.cells,
applied to the columns the writer declares by name (``kinds``) and stated in a legend under the
caption that names the columns each colour scale is applied to.
"""
from __future__ import annotations

import hashlib
import html
import re

import pandas as pd

from advreg.figures.cells import cell_css, check, display_frame, legend

SORT_SCRIPT = """
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
        var c = r.children[col], t = c ? c.textContent.trim() : "";
        var v = t === "∞" ? Infinity : t === "−∞" ? -Infinity : parseFloat(t);
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

# what a page that embeds fragments (``table_fragment``) puts once in its <head>
TABLE_CSS = """
<style>
p.caption { max-width: 70em; color: #333; }
p.legend { max-width: 70em; color: #555; font-size: 12px; }
table.advreg { border-collapse: collapse; }
table.advreg th, table.advreg td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
table.advreg th { background: #f3f3f3; position: sticky; top: 0; }
table.advreg td:first-child, table.advreg th:first-child { text-align: left; }
</style>
"""
_WORDS = re.compile(r"[A-Za-z]{2,}")   # a cell with a word in it (not "97.1 ± 0.4", "∞", "–", "FLAG" alone)
_PAGE_CSS = "<style>body { font-family: sans-serif; font-size: 13px; margin: 8px; }</style>" + TABLE_CSS


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    return df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df.copy()


def _styles(flat: pd.DataFrame, numbers: pd.DataFrame, kinds: dict) -> pd.DataFrame:
    """Each cell's CSS: the colour of its column's kind, from the number behind it (``numbers``,
    same rows by position, columns by name) and its own text (a verdict, a flag)."""
    out = pd.DataFrame("", index=flat.index, columns=flat.columns)
    for j, c in enumerate(flat.columns):
        kind = kinds.get(c)
        if kind is None:
            continue
        own = flat.iloc[:, j]
        behind = numbers[c] if c in numbers.columns else own
        for i in range(len(flat)):
            out.iat[i, j] = cell_css(kind, behind.iat[i], own.iat[i])
    return out


def table_fragment(df: pd.DataFrame, caption: str = "", kinds: dict | None = None,
                   values: pd.DataFrame | None = None, table_id: str | None = None) -> str:
    """The caption, the colour legend and the styled, sortable ``<table class="advreg">``, without
    a page around it (``table_html`` wraps it; a page embedding several puts ``TABLE_CSS`` and
    ``SORT_SCRIPT`` in once). ``kinds``: {column: kind} by exact name (advreg.figures.cells; the
    index's names are columns here); a column not declared is not coloured. ``values``: the numbers
    behind cells shown as text (e.g. "97.1 ± 0.4" cells coloured by their mean), same rows, columns
    by name. ``table_id``: the cells' id prefix, by default drawn from the table's content, so a
    table gives the same bytes in every run and two tables on one page never share ids."""
    kinds = check(kinds)
    flat = _flat(df)
    numbers = flat if values is None else _flat(values)
    shown = display_frame(flat, kinds)
    uid = table_id or "t" + hashlib.sha1((caption + shown.to_csv()).encode()).hexdigest()[:10]
    styler = shown.style.hide(axis="index").format(escape="html")
    styler = styler.apply(lambda _: _styles(flat, numbers, kinds), axis=None)
    # long text (a quoted claim, a verdict with its reason) wraps in a column wide enough to read
    wide = [c for c in shown.columns if shown[c].str.len().mean() > 40]
    # a column of words (a model, a case, a verdict) reads from the left; numbers stay right-aligned
    words = [c for c in shown.columns if c not in wide and
             shown[c].map(lambda t: t != "FLAG" and _WORDS.search(t) is not None).mean() > 0.5]
    if words:
        styler = styler.set_table_styles({c: [{"selector": "td", "props": "text-align: left"}] for c in words},
                                         overwrite=False)
    if wide:
        styler = styler.set_table_styles({c: [{"selector": "td", "props": "min-width: 24em; max-width: 40em; "
                                                "white-space: normal; text-align: left"}] for c in wide},
                                         overwrite=False)
    styler = styler.set_table_attributes('class="advreg"').set_uuid(uid)
    key = legend(kinds, shown.columns)
    cap = (f'<p class="caption">{html.escape(caption)}</p>' if caption else "") + \
        (f'<p class="legend">{html.escape(key)}</p>' if key else "")
    return cap + styler.to_html()


def table_html(df: pd.DataFrame, caption: str = "", title: str = "", values: pd.DataFrame | None = None,
               kinds: dict | None = None) -> str:
    """The page: a title, then ``table_fragment`` (caption, colour legend, table)."""
    head = f"<h3>{html.escape(title)}</h3>" if title else ""
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">" + _PAGE_CSS + "</head><body>" + head
            + table_fragment(df, caption, kinds, values) + SORT_SCRIPT + "</body></html>\n")
