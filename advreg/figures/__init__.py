"""What a run shows: figures (matplotlib, Agg backend) and table files (CSV, Markdown, LaTeX and
the report's HTML from one DataFrame). Functions here take data and a path and write files; they
compute nothing of the papers' mathematics and read no artifacts (``advreg.jobs`` does).

``common``      plots shared by both papers (training curves, matrices, accuracy vs ε)
``sgr``         the SGR paper's Figs. 2-8
``sn``          the SN paper's generalization-gap figures
``cells``       how a cell is shown, declared once: its text (no Python repr) and its colour by the
                kind its writer declares (tables and heat maps alike)
``tables``      one table in every format, written atomically
``table_html``  a table as a self-contained HTML page for the Snakemake report (or a fragment of one)
"""
