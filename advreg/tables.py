"""Writing a table: CSV, Markdown, LaTeX and the report's HTML page from one DataFrame, each file
atomically (one code path for every table of the pipeline)."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from advreg.table_html import table_html


def write_table(df: pd.DataFrame, csv_path=None, md_path=None, tex_path=None, caption: str = "",
                html_path=None, html_values: pd.DataFrame | None = None) -> None:
    """Write one table in every format asked for (atomically, file by file); ``html_path``: the
    page the report shows inline (advreg.table_html; ``html_values``: the numbers that colour
    cells shown as text)."""
    def atomic(path, text):
        tmp = f"{path}.part"
        Path(tmp).write_text(text)
        os.replace(tmp, path)

    for path in (csv_path, md_path, tex_path, html_path):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    if html_path:
        atomic(html_path, table_html(df, caption, values=html_values))
    if csv_path:
        atomic(csv_path, df.to_csv())
    if md_path:
        atomic(md_path, (f"{caption}\n\n" if caption else "") + df.to_markdown() + "\n")
    if tex_path:
        atomic(tex_path, df.to_latex(float_format="%.1f", caption=caption or None))
