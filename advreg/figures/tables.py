"""Writing a table: CSV, Markdown, LaTeX and the report's HTML page from one DataFrame, each file
atomically (one code path for every table of the pipeline)."""
from __future__ import annotations

import pandas as pd

from advreg.atomic import write_text
from advreg.figures.table_html import table_html


def md_escape(text: str, cell: bool = False) -> str:
    """Text as Markdown shows it literally: a `*` (β*, paper_*) would otherwise open an emphasis
    that swallows it; in a table ``cell`` a `|` would also split the cell (outside a table it is
    plain text, e.g. a caption's "mean |ours − paper|")."""
    out = str(text).replace("\\", "\\\\").replace("*", "\\*")
    return out.replace("|", "\\|") if cell else out


def markdown_table(df: pd.DataFrame) -> str:
    """A pipe table with every header and text cell escaped and an empty value (NaN: an interval
    of one seed, a paper value not published) printed as "–", never "nan"."""
    shown = df.copy()
    for c in shown.columns:
        if shown[c].isna().any():   # a column with a gap: its numbers as tabulate would print them
            shown[c] = [("–" if pd.isna(v) else f"{v:g}" if isinstance(v, float) else v) for v in shown[c]]
    esc = lambda v: md_escape(v, cell=True)  # noqa: E731
    shown = shown.rename(columns=esc).rename(index=esc)
    shown = shown.apply(lambda col: col.map(lambda v: esc(v) if isinstance(v, str) else v))
    if shown.index.name:
        shown.index.name = esc(shown.index.name)
    return shown.to_markdown()


def write_table(df: pd.DataFrame, csv_path=None, md_path=None, tex_path=None, caption: str = "",
                html_path=None, html_values: pd.DataFrame | None = None) -> None:
    """Write one table in every format asked for (atomically, file by file); ``html_path``: the
    page the report shows inline (advreg.figures.table_html; ``html_values``: the numbers that colour
    cells shown as text)."""
    if html_path:
        write_text(html_path, table_html(df, caption, values=html_values))
    if csv_path:
        write_text(csv_path, df.to_csv())
    if md_path:
        write_text(md_path, (f"{md_escape(caption)}\n\n" if caption else "") + markdown_table(df) + "\n")
    if tex_path:
        write_text(tex_path, df.to_latex(float_format="%.1f", caption=caption or None))
