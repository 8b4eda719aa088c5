"""Tables as HTML pages for the report (advreg.figures.table_html): every value printed, colours fitted to
the values, columns in other units on their own scale, text cells coloured by their numbers."""
from __future__ import annotations

import re

import pandas as pd

from advreg.figures.table_html import table_html


def _cells(page: str) -> list[tuple[str, str]]:
    """(style of the cell's id from the CSS, text) of every body cell."""
    styles = {}
    for selectors, body in re.findall(r"([^{}<>]+)\{([^}]*)\}", page):
        for sel in selectors.split(","):
            if sel.strip().startswith("#T_"):
                styles[sel.strip()[1:]] = body
    out = []
    for cid, text in re.findall(r'<td id="(T_\w+_row\d+_col\d+)"[^>]*>([^<]*)</td>', page):
        out.append((styles.get(cid, ""), text.strip()))
    return out


def test_values_printed_and_coloured_on_their_own_scales():
    df = pd.DataFrame({"clean": [99.0, 67.5], "strong": [80.0, 70.0], "cost_ratio": [2.0, 30.0],
                       "seeds": [3, 3]}, index=pd.Index(["a", "b"], name="model"))
    page = table_html(df, caption="A caption")
    assert "A caption" in page and 'class="advreg"' in page and "addEventListener" in page  # sortable
    cells = _cells(page)
    texts = [t for _, t in cells]
    assert texts == ["a", "99.00", "80.00", "2.00", "3", "b", "67.50", "70.00", "30.00", "3"]
    colour = {t: s for s, t in cells}
    # the accuracies share one scale (67.5 the darkest, 99 the brightest), cost_ratio has its own
    assert "background-color" in colour["99.00"] and "background-color" in colour["2.00"]
    assert colour["2.00"] == colour["67.50"]  # each scale's minimum gets the same (darkest) colour
    assert colour["99.00"] == colour["30.00"]  # each scale's maximum the same (brightest) colour
    assert "background-color" not in colour["3"]  # counts are not coloured


def test_text_cells_coloured_by_their_numbers():
    shown = pd.DataFrame({"clean": ["97.0 ± 1.0", "90.0 ± 2.0"]}, index=["a", "b"])
    numbers = pd.DataFrame({"clean": [97.0, 90.0]}, index=["a", "b"])
    cells = _cells(table_html(shown, values=numbers))
    coloured = {t: s for s, t in cells}
    assert "background-color" in coloured["97.0 ± 1.0"] and coloured["97.0 ± 1.0"] != coloured["90.0 ± 2.0"]


def test_the_same_table_gives_the_same_bytes():
    """No random element id (pandas' Styler draws one): a re-run's report pages are byte-identical."""
    df = pd.DataFrame({"a": [1.0, 2.5], "b": [3.0, float("nan")]}, index=["x", "y"])
    assert table_html(df, "caption") == table_html(df.copy(), "caption")
