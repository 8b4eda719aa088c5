"""Writing a table: CSV, Markdown, LaTeX and the report's HTML page from one DataFrame, each file
atomically (one code path for every table of the pipeline)."""
from __future__ import annotations

import pandas as pd

from advreg.base.atomic import write_text
from advreg.figures.cells import display_frame
from advreg.figures.table_html import table_html


def md_escape(text: str, cell: bool = False) -> str:
    """Text as Markdown shows it literally: a `*` (β*, paper_*) would otherwise open an emphasis
    that swallows it; in a table ``cell`` a `|` would also split the cell (outside a table it is
    plain text, e.g. a caption's "mean |ours − paper|")."""
    out = str(text).replace("\\", "\\\\").replace("*", "\\*")
    return out.replace("|", "\\|") if cell else out


def markdown_table(df: pd.DataFrame, kinds: dict | None = None) -> str:
    """A pipe table with every cell as the HTML page shows it (advreg.figures.cells: "–" for an
    empty value, ∞, ✓ / FLAG, integers as integers; ``kinds`` by exact column name, the index's
    names included) and every header and cell escaped. Printed as text: tabulate would re-parse
    "97.10" as a number and print 97.1."""
    named = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    flat = df.reset_index() if named else df
    shown = display_frame(flat, kinds)
    esc = lambda v: md_escape(v, cell=True)  # noqa: E731
    shown = shown.map(esc).rename(columns=esc)
    # numbers right-aligned, as tabulate aligns them when it parses them itself
    align = ["right" if pd.api.types.is_numeric_dtype(flat.iloc[:, j]) else "left" for j in range(flat.shape[1])]
    return shown.to_markdown(index=not named, disable_numparse=True,
                             colalign=(["right"] if not named else []) + align)


def write_table(df: pd.DataFrame, csv_path=None, md_path=None, tex_path=None, caption: str = "",
                html_path=None, html_values: pd.DataFrame | None = None, kinds: dict | None = None) -> None:
    """Write one table in every format asked for (atomically, file by file); ``html_path``: the
    page the report shows inline (advreg.figures.table_html; ``html_values``: the numbers that colour
    cells shown as text). ``kinds``: {column: kind} by exact name (advreg.figures.cells), what
    colours the page and how the Markdown prints each column; the CSV keeps the values as they
    are (machine-readable: True/False, inf)."""
    if html_path:
        write_text(html_path, table_html(df, caption, values=html_values, kinds=kinds))
    if csv_path:
        write_text(csv_path, df.to_csv())
    if md_path:
        write_text(md_path, (f"{md_escape(caption)}\n\n" if caption else "") + markdown_table(df, kinds) + "\n")
    if tex_path:
        write_text(tex_path, df.to_latex(float_format="%.1f", caption=caption or None))
