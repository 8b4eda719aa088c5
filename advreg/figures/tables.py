"""Writing a table: CSV, Markdown, LaTeX and the report's HTML page from one DataFrame, each file
atomically (one code path for every table of the pipeline)."""
from __future__ import annotations

import pandas as pd

from advreg.atomic import write_text
from advreg.figures.table_html import table_html


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
        write_text(md_path, (f"{caption}\n\n" if caption else "") + df.to_markdown() + "\n")
    if tex_path:
        write_text(tex_path, df.to_latex(float_format="%.1f", caption=caption or None))
