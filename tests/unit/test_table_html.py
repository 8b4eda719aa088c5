"""Tables as HTML pages for the report (advreg.figures.table_html): every value printed; colours
with one meaning (green better, red worse), by the kind each writer declares for a column
(advreg.figures.cells): accuracies on a fixed banded scale, signed quantities on a fixed scale
centred on 0, verdicts by verdict, neutral quantities and counts uncoloured; text cells coloured
by their numbers."""
from __future__ import annotations

import re

import pandas as pd

from advreg.figures.cells import ACCURACY, COUNT, HIGHER, LOWER, NEUTRAL, VERDICT
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


def test_values_printed_and_coloured_with_one_meaning():
    df = pd.DataFrame({"clean": [99.0, 67.5], "strong": [80.0, 70.0], "cost_ratio": [2.0, 30.0],
                       "difference": [-10.0, -0.7], "seeds": [3, 3]}, index=pd.Index(["a", "b"], name="model"))
    kinds = {"clean": ACCURACY, "strong": ACCURACY, "cost_ratio": NEUTRAL, "difference": LOWER, "seeds": COUNT}
    page = table_html(df, caption="A caption", kinds=kinds)
    assert "A caption" in page and 'class="advreg"' in page and "addEventListener" in page  # sortable
    assert "green is better, red is worse" in page                                        # the legend
    cells = _cells(page)
    texts = [t for _, t in cells]
    # a column of whole numbers (a count, a ratio of 2 and 30) prints as integers
    assert texts == ["a", "99.00", "80.00", "2", "-10.00", "3", "b", "67.50", "70.00", "30", "-0.70", "3"]
    colour = {t: s for s, t in cells}
    assert "background-color" in colour["99.00"] and colour["99.00"] != colour["67.50"]
    # ratios and counts have no better direction: not coloured
    assert "background-color" not in colour["2"] and "background-color" not in colour["3"]
    # signed: a diverging scale centred on 0, so -10 and -0.7 do not look alike
    assert colour["-10.00"] != colour["-0.70"]


def _colour_of(page: str, text: str) -> str:
    return next(s for s, t in _cells(page) if t == text)


def test_a_two_image_difference_of_300_keeps_the_colour_band():
    """98.00 and 98.67 % differ by 2 test images of 300 (one binomial standard error is 0.8
    points): the same colour; 85 vs 98 (a real difference) is not."""
    acc = {"clean": ACCURACY}
    page = table_html(pd.DataFrame({"clean": [98.0, 98.67, 85.0]}, index=["a", "b", "c"]), kinds=acc)
    assert _colour_of(page, "98.00") == _colour_of(page, "98.67") != _colour_of(page, "85.00")
    # a fixed scale: the same value gets the same colour whatever else the table holds
    alone = table_html(pd.DataFrame({"clean": [98.0, 20.0]}, index=["a", "b"]), kinds=acc)
    assert _colour_of(alone, "98.00") == _colour_of(page, "98.00")


def test_green_means_better_in_every_column():
    """A high accuracy, a small gap and a large gain all lean green; their opposites red."""
    df = pd.DataFrame({"test": [99.0, 5.0], "gap": [-5.0, 5.0], "gain": [5.0, -5.0]}, index=["good", "bad"])
    cells = _cells(table_html(df, kinds={"test": ACCURACY, "gap": LOWER, "gain": HIGHER}))
    def rgb(style):  # noqa: E306
        h = re.search(r"background-color: #([0-9a-f]{6})", style).group(1)
        return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
    good = [rgb(s) for s, t in cells[1:4]]
    bad = [rgb(s) for s, t in cells[5:8]]
    assert all(g[1] > g[0] for g in good) and all(b[0] > b[1] for b in bad)


def test_verdicts_coloured_by_verdict():
    df = pd.DataFrame({"verdict": ["supported", "contradicted", "inconclusive", "not tested (stand-in data)"]})
    cells = [s for s, t in _cells(table_html(df, kinds={"verdict": VERDICT}))]
    assert len(set(cells)) == 4 and all("background-color" in s for s in cells)


def test_text_cells_coloured_by_their_numbers():
    shown = pd.DataFrame({"clean": ["97.0 ± 1.0", "60.0 ± 2.0"]}, index=["a", "b"])
    numbers = pd.DataFrame({"clean": [97.0, 60.0]}, index=["a", "b"])
    cells = _cells(table_html(shown, values=numbers, kinds={"clean": ACCURACY}))
    coloured = {t: s for s, t in cells}
    assert "background-color" in coloured["97.0 ± 1.0"] and coloured["97.0 ± 1.0"] != coloured["60.0 ± 2.0"]


def test_the_same_table_gives_the_same_bytes():
    """No random element id (pandas' Styler draws one): a re-run's report pages are byte-identical."""
    df = pd.DataFrame({"a": [1.0, 2.5], "b": [3.0, float("nan")]}, index=["x", "y"])
    assert table_html(df, "caption") == table_html(df.copy(), "caption")


def test_markdown_escapes_stars_and_prints_empty_values_as_dashes():
    from advreg.figures.tables import markdown_table, md_escape
    df = pd.DataFrame({"beta*": ["inf", "2"], "ci95": [0.5, float("nan")]}, index=pd.Index(["a", "b"], name="scheme"))
    md = markdown_table(df)
    assert "beta\\*" in md and "nan" not in md and "– |" in md and "∞" in md and "inf" not in md
    assert md_escape("β* beside paper_*") == "β\\* beside paper_\\*"
