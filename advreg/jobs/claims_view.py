"""The claim verdicts as a person reads them: two tables of at most 8 columns (one line per claim,
one per measured case), the run's regime once per paper above them, the cases the run could not
measure folded into one line per reason, and the quoted sentences below, each claim id linking to
its quote. The full tables (every column, every row) stay in ``tables/claims.csv`` and
``tables/claim_lines.csv``; this module only chooses what to show and how to say it."""
from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

from advreg.base.text import MISSING
from advreg.claims import register as C

JUDGED = C.JUDGED

#: the columns a reader sees, in order (issue 41: at most 8 each)
CLAIM_COLUMNS = ["claim", "paper §", "datasets", "cases", "verdict", "after Holm", "magnitude", "note"]
CASE_COLUMNS = ["claim", "dataset", "case", "effect (95 % interval over seeds)", "threshold", "verdict",
                "paper value", "seeds to settle"]


def anchor(claim_id: str) -> str:
    return "q-" + claim_id


def threshold_text(entry: dict) -> str:
    """The claims page's threshold cell: the bound, and the kind where it is not superiority."""
    kind = "" if entry["kind"] == "superiority" else f" ({C.KIND_WORDS[entry['kind']]})"
    return C.bound_text(entry) + kind


def _regime_badge(regime: str) -> str:
    """A verdict's regime in three words (the indicators stand once per paper above the table)."""
    if regime in ("within", "in the paper's regime"):
        return "in the paper's regime"
    if regime.startswith("outside"):
        return "outside the paper's regime"
    if regime.startswith("no paper regime"):
        return "no paper regime for this dataset"
    return regime


def _badge(verdict: str, regime: str) -> str:
    return f"{verdict} · {_regime_badge(regime)}" if regime not in ("", MISSING) else verdict


def _link(ids: str, md: bool) -> str:
    """Markdown: each id of a claim linked to its quote below the table. HTML: the ids as text;
    ``linked`` makes them links once the table is HTML (the table writer escapes every cell)."""
    return " + ".join(f"[{i}](#{anchor(i)})" for i in ids.split(" + ")) if md else ids


def linked(fragment: str, register: dict) -> str:
    """An HTML table whose cells hold claim ids, with each id a link to its quote (and the quote
    as the link's tooltip)."""
    quotes = {e["id"]: e["quote"] for e in register["claims"]}

    def cell(m: re.Match) -> str:
        ids = m.group(2).split(" + ")
        if not all(i in quotes for i in ids):
            return m.group(0)
        return m.group(1) + " + ".join(f'<a href="#{anchor(i)}" title="{html.escape(quotes[i], quote=True)}">'
                                       f"{html.escape(i)}</a>" for i in ids) + "</td>"
    return re.sub(r"(<td[^>]*>)([^<]+)</td>", cell, fragment)


def _effect(row, unit: str) -> str:
    """The effect the verdict comes from (the strong attack where there is one), with its unit; the
    paper attack's beside it."""
    if row["effect_strong_attack"] not in (MISSING, "", None):
        return (f"{row['effect_strong_attack']} {unit} (strong attack; paper attack "
                f"{row['effect_paper_setting']})")
    return f"{row['effect_paper_setting']} {unit}"


def _settle(text: str) -> str:
    """The seeds that would settle a case, short: a one-seed run's every row said the same
    sentence (issue 41); the caption says what "≥ 2" means."""
    return "≥ 2 (one seed: no spread)" if text.startswith("unknown: one seed") else text


def _paper_value(row) -> str:
    v, m = str(row["paper_value"]), str(row["magnitude"])
    if v in (MISSING, "nan", ""):
        return MISSING
    return f"{v} ({m})" if m not in (MISSING, "") else v


def case_table(table: pd.DataFrame, register: dict, md: bool = False) -> pd.DataFrame:
    """One row per measured case (not-tested cases: ``folded``)."""
    entries = {e["id"]: e for e in register["claims"]}
    judged = table[table["verdict"].isin(JUDGED)]
    rows = [{"claim": _link(r["id"], md), "dataset": r["dataset"], "case": r["case"],
             "effect (95 % interval over seeds)": _effect(r, entries[r["id"]]["unit"]),
             "threshold": threshold_text(entries[r["id"]]),
             "verdict": _badge(r["verdict"], str(r["regime"]).split(":")[0]),
             "paper value": _paper_value(r), "seeds to settle": _settle(str(r["seeds_to_settle"]))}
            for _, r in judged.iterrows()]
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


def claim_table(lines: pd.DataFrame, register: dict, md: bool = False) -> pd.DataFrame:
    """One row per claim judged on some dataset (claims judged nowhere: ``folded``)."""
    shown = lines[lines["verdict"].isin(JUDGED) | (lines["other_datasets"] != MISSING)]
    # the claims judged on the papers' datasets first, those judged only elsewhere after them
    shown = shown.iloc[np.argsort(~shown["verdict"].isin(JUDGED).to_numpy(), kind="stable")]
    rows = []
    for _, r in shown.iterrows():
        judged = r["verdict"] in JUDGED
        note = "; ".join(x for x in (str(r["why"]), "" if r["other_datasets"] == MISSING else str(r["other_datasets"]))
                         if x and x != "nan")
        rows.append({"claim": _link(r["id"], md), "paper §": f"{r['paper']} {r['section']}",
                     "datasets": r["datasets"], "cases": str(r["cases"]),
                     "verdict": _badge(r["verdict"], r["regime"]) if judged else r["verdict"],
                     "after Holm": r["holm"], "magnitude": r["magnitude"], "note": note or MISSING})
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def _reason(text: str) -> str:
    return text[len("not tested: "):] if text.startswith("not tested: ") else text


def folded(table: pd.DataFrame) -> list[str]:
    """The cases the run could not measure, one line per reason: the reason, then the claims and
    datasets it holds for."""
    out: dict[str, list[str]] = {}
    rest = table[~table["verdict"].isin(JUDGED)]
    for _, r in rest.iterrows():
        key = f"{r['verdict']}: {_reason(str(r['verdict_in_regime']))}"
        label = r["id"] + ("" if r["case"] in (MISSING, "") else f" ({r['case']})")
        out.setdefault(key, [])
        if label not in out[key]:
            out[key].append(label)
    return [f"{reason} — {', '.join(ids)}" for reason, ids in out.items()]


def quotes(register: dict, md: bool = False) -> list[str]:
    """Every claim's sentence, once, with an anchor per id (the tables link here)."""
    out = []
    for entries in C.claims_of(register):
        e, ids = entries[0], [x["id"] for x in entries]
        anchors = "".join(f'<a id="{anchor(i)}"></a>' for i in ids)
        if md:
            out.append(f"{anchors}**{' + '.join(ids)}** ({e['paper']} §{e['section']}): “{e['quote']}”")
        else:
            out.append(f"{anchors}<b>{html.escape(' + '.join(ids))}</b> ({html.escape(e['paper'])} "
                       f"§{html.escape(str(e['section']))}): “{html.escape(e['quote'])}”")
    return out


_PAGE_CSS = """<style>
body { font-family: sans-serif; font-size: 13px; margin: 8px; max-width: 110em; }
p, li { max-width: 75em; }
td { vertical-align: top; }
</style>"""


def claims_html(table: pd.DataFrame, lines: pd.DataFrame, regime: list[str], caption: str,
                cases_caption: str, register: dict) -> str:
    """tables/claims.html, the page the report shows: the same content as claims.md, its two tables
    coloured by verdict (advreg.figures.table_html's one colour rule)."""
    import markdown

    from advreg.figures.table_html import SORT_SCRIPT, TABLE_CSS, table_fragment

    def inline(text: str) -> str:   # a Markdown line (bold, code) as HTML, without its <p>
        return markdown.markdown(text).removeprefix("<p>").removesuffix("</p>")
    body = [f"<p>{inline(caption)}</p>",
            "<p><b>How close this run came to each paper's regime</b> (every indicator: tables/regime.md):</p>",
            "<ul>" + "".join(f"<li>{inline(line)}</li>" for line in regime) + "</ul>",
            "<h4>One verdict per claim</h4>",
            linked(table_fragment(claim_table(lines, register), kinds={"verdict": "verdict"}), register),
            "<h4>Every measured case</h4>", f"<p>{html.escape(cases_caption)}</p>",
            linked(table_fragment(case_table(table, register), kinds={"verdict": "verdict"}), register),
            "<p><b>Not measured in this run</b> (one line per reason):</p>",
            "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in folded(table)) + "</ul>",
            "<h4>The claims, quoted</h4>",
            "<ul>" + "".join(f"<li>{q}</li>" for q in quotes(register)) + "</ul>"]
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">" + _PAGE_CSS + TABLE_CSS + "</head><body>"
            + "\n".join(body) + SORT_SCRIPT + "</body></html>\n")
