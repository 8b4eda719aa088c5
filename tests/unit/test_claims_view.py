"""The claims page a person reads (issue 41): two tables of at most 8 columns, the regime once per
paper above them (not in every row), the cases not measured folded into one line per reason, each
claim id linking to its quoted sentence; the full table stays in claims.csv."""
from __future__ import annotations

import re

import pandas as pd

from advreg.claims import register as C
from advreg.jobs import claims_view as CV
from advreg.jobs import verdicts as V

REGIME_TEXT = ("outside: clean model, clean accuracy (%) 97.1 (paper 99.4, ± 0.4); training images 8,000 "
               "(paper 60,000, ≥ 0.9 × paper)")


def _table() -> pd.DataFrame:
    reg = C.load_register()
    rows = []
    for i, e in enumerate(reg["claims"]):
        base = V._base(e, "mnist")
        if i % 3 == 0:   # measured
            rows.append({**base, "case": f"case {i}", "effect_paper_setting": "1.2 ± 0.8",
                         "verdict_paper_setting": C.INCONCLUSIVE, "effect_strong_attack": "–",
                         "verdict_strong_attack": "–", "verdict": C.INCONCLUSIVE, "regime": REGIME_TEXT,
                         "verdict_in_regime": f"inconclusive, outside the paper's regime: {REGIME_TEXT}",
                         "seeds_to_settle": "4", "magnitude": "–", "p_supported": 0.2, "p_contradicted": 0.9,
                         "paper_value": "+2.8", "seeds": 3, "images": 1000, "regime_indicators": REGIME_TEXT})
        else:            # two reasons, many rows each
            why = "the paper makes this claim about cifar10; this run has mnist" if i % 3 == 1 else \
                "needs LRC results of lrc (lrc.models)"
            rows.append(V._not_tested(e, "mnist", why))
    return V.claims_table(rows), reg


def test_tables_have_at_most_8_columns_and_the_regime_text_is_not_in_the_rows():
    table, reg = _table()
    lines = V.claim_lines(table, reg)
    cases = CV.case_table(table, reg)
    claims = CV.claim_table(lines, reg)
    assert len(cases.columns) <= 8 and len(claims.columns) <= 8
    assert len(table.columns) > 8    # the CSV keeps every column
    assert len(cases) == (table["verdict"] == C.INCONCLUSIVE).sum()
    for df in (cases, claims):
        assert not df.astype(str).apply(lambda c: c.str.contains("clean accuracy \\(%\\) 97.1")).any().any()
    assert set(cases["verdict"]) == {"inconclusive · outside the paper's regime"}
    assert cases["effect (95 % interval over seeds)"].iloc[0] == "1.2 ± 0.8 " + reg["claims"][0]["unit"]


def test_not_measured_cases_fold_into_one_line_per_reason():
    table, reg = _table()
    folded = CV.folded(table)
    assert len(folded) == 2
    assert folded[0].startswith("not tested: the paper makes this claim about cifar10")
    n = (table["verdict"] == C.NOT_TESTED).sum()
    assert sum(line.count(", ") + 1 for line in folded) == n   # every not-tested case named once


def test_every_claim_id_links_to_its_quote_in_markdown_and_html(tmp_path):
    table, reg = _table()
    lines = V.claim_lines(table, reg)
    md = V.claims_markdown(table, lines, ["**SGR paper**: mnist: 0 of 5 within."], "caption", reg)
    targets = set(re.findall(r"\]\(#(q-[\w.-]+)\)", md))
    anchors = set(re.findall(r'<a id="(q-[\w.-]+)"></a>', md))
    assert targets and targets <= anchors
    assert md.count("**SGR paper**") == 1   # the regime once, above the tables
    page = CV.claims_html(table, lines, ["**SGR paper**: mnist: 0 of 5 within."], "caption", "cases", reg)
    hrefs = set(re.findall(r'href="#(q-[\w.-]+)"', page))
    assert hrefs and hrefs <= set(re.findall(r'<a id="(q-[\w.-]+)"></a>', page))
    assert "<strong>SGR paper</strong>" in page
