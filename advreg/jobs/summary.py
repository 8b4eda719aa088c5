"""results/<run>/summary.md: every table of the run in the paper's order, the figure list, and
the run's provenance, for reading without a browser (the HTML report carries the same)."""
from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

from advreg.base.atomic import write_text

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "matplotlib", "snakemake",
            "snakemake-executor-plugin-slurm")


def provenance(repo_dir) -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_dir, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=repo_dir, capture_output=True,
                                    text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown (not a git checkout)", False
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = "not installed"
    # the machine this summary was written on (no torch import: a summary job starts without it);
    # each model records the device it trained on in its file (advreg.base.device.device_signature)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    return {"git commit": commit + (" (with uncommitted changes)" if dirty else ""),
            "python": platform.python_version(), **versions, "machine of the summary job": machine}


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
body {{ font-family: sans-serif; font-size: 13px; margin: 10px; max-width: 110em; }}
table {{ border-collapse: collapse; margin: 6px 0 14px; display: block; max-width: 100%; overflow-x: auto; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; max-width: 40em; vertical-align: top; }}
th {{ background: #f3f3f3; }}
</style></head><body>
{body}
</body></html>
"""


def markdown_page(text: str, tables: dict | None = None, figures: dict | None = None) -> str:
    """summary.md as the report's first page (Python-Markdown with its tables extension).
    ``tables``: Markdown table file -> its HTML page; each table whose file's text appears in
    ``text`` is shown as that page's coloured table (advreg.figures.table_html: one colour rule on
    every page) instead of the plain Markdown one. ``figures``: link target -> PNG file; each such
    link jumps to the figure, shown on this page (an anchor and an embedded image): inside the
    report the summary is a data-URI page whose relative links the browser blocks
    (about:blank#blocked), and a browser blocks a top-level jump to a data URI too."""
    import base64

    import markdown

    from advreg.figures.table_html import SORT_SCRIPT, TABLE_CSS
    slots = {}
    for k, (md_file, html_file) in enumerate((tables or {}).items()):
        block = Path(md_file).read_text().rstrip()
        if block in text:   # a placeholder Markdown leaves alone, replaced by the HTML table below
            slots[f"TABLESLOT{k}X"] = _body(Path(html_file).read_text())
            text = text.replace(block, f"TABLESLOT{k}X")
    shown = []
    for k, (target, png) in enumerate((figures or {}).items()):
        text = text.replace(f"]({target})", f"](#figure-{k})")
        uri = "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode()
        shown.append(f'<figure id="figure-{k}"><img src="{uri}" alt="{Path(png).stem}" style="max-width: 100%">'
                     f"<figcaption>{Path(png).stem}</figcaption></figure>")
    body = markdown.markdown(text, extensions=["tables"])
    if shown:
        body += "<h2>The figures</h2>" + "".join(shown)
    for slot, block in slots.items():
        body = body.replace(f"<p>{slot}</p>", block).replace(slot, block)
    return _PAGE.format(body=body).replace("</head>", TABLE_CSS + "</head>").replace("</body>", SORT_SCRIPT + "</body>")


def _body(page: str) -> str:
    """A table page's body without its sort script (the summary has it once); the styles inside
    the body are the table's own cell colours (pandas' Styler), kept."""
    inner = re.search(r"<body>(.*)</body>", page, re.S)
    inner = inner.group(1) if inner else page
    return re.sub(r"<script\b.*?</script>", "", inner, flags=re.S)


def warnings(stand_ins=(), rehearsal: bool = False) -> list[str]:
    """What the page must say before anything else: a rehearsal notice (config `rehearsal: true`)
    and a stand-in warning when the run used one (advreg.data.stand_in)."""
    from advreg.data.stand_in import STAND_IN_LABEL
    warn = ([f"**{STAND_IN_LABEL}: {', '.join(stand_ins)}.** Every table and figure of "
             f"{', '.join(stand_ins)} in this run comes from generated data (data.stand_in): it rehearses "
             f"the code path, it measures nothing; its claim rows read \"not tested (stand-in data)\".", ""]
            if stand_ins else [])
    if rehearsal:
        warn = ["**A rehearsal (config `rehearsal: true`), not a result.** Every job of the full run "
                "ran once at cut sizes (images, epochs, steps) to show that its code paths work; the "
                "models are near chance, so no claim is judged: a claim row reads \"not tested "
                "(rehearsal)\", or \"not tested (stand-in data)\" for a stand-in dataset.", ""] + warn
    return warn


def opening(claim_lines_csv, paragraph: str = "") -> list[str]:
    """The summary's lines under the verdict card: the verdict totals in full (one verdict per
    claim, counted only on the papers' own datasets, with how many are in the paper's regime:
    advreg.jobs.verdicts.totals) and what the run was, setting by setting. How close the run came
    to each paper's regime, indicator by indicator, stands once, above the claim tables
    (tables/claims.md)."""
    import pandas as pd

    from advreg.jobs.verdicts import totals, totals_text
    lines = pd.read_csv(claim_lines_csv, keep_default_na=False)
    return (["**Verdicts in full** (one per claim; the tables below, with every regime indicator above "
             "them): " + totals_text(totals(lines)), ""] + ([paragraph, ""] if paragraph else []))


#: the presets that decide what a one-seed run cannot (presets/*.yaml)
DECIDING_PRESETS = ("`presets/evidence.yaml` (three seeds) decides the measured claims; "
                    "`presets/paper_mnist.yaml` judges SGR Table 1 in the paper's regime")


def images_used(clean_csvs: dict, attack_records: dict, robustness_csvs: dict) -> dict:
    """How many test images each kind of number was measured on, per dataset, read from what the
    jobs wrote (not from the config): the clean-accuracy table's ``images`` column, the paper
    attack's record ``n`` (advreg.jobs.attack), and the strong check's ``n`` (per-seed robustness)."""
    import json

    import pandas as pd
    out = {}
    for ds in clean_csvs:
        clean = pd.read_csv(clean_csvs[ds])
        strong = pd.read_csv(robustness_csvs[ds])
        out[ds] = {"clean": int(clean["images"].iloc[0]),
                   "attack": int(json.loads(Path(attack_records[ds]).read_text())["n"]),
                   "strong": int(strong["n"].iloc[0])}
    return out


def images_note(images: dict) -> str:
    """Why one model shows three clean accuracies on this page: each table measures its own images
    (issue 41: 97.05 on 10,000, 99.0 on 300 and 100.0 on 150 with nothing saying why)."""
    return "; ".join(
        f"{ds}: a model's clean accuracy appears three times, each on its own images: the clean-accuracy "
        f"table on {_count(i['clean'])} test images, the white-box table's `test` column on the "
        f"{_count(i['attack'])} images the attacks use, and the strong check's `clean` column on "
        f"{_count(i['strong'])} of those" for ds, i in images.items())


def _count(n: int) -> str:
    return f"{n:,}"


def verdict_card(run_name: str, claim_lines_csv, regime_csv, run: dict, images: dict,
                 n_methods: int) -> list[str]:
    """The first screen of the landing page and of summary.md (issue 41): what the run was in one
    line, one line per paper with how many of its regime indicators the run met, and the verdict
    totals that count (the papers' own datasets; in the paper's regime or outside). A one-seed run
    says it is a smoke test and names the presets that decide its claims."""
    import pandas as pd

    from advreg.jobs.verdicts import PAPERS, totals
    lines = pd.read_csv(claim_lines_csv, keep_default_na=False)
    t = totals(lines)
    seeds = list(run["seeds"])
    data = "; ".join(f"{ds}: clean accuracy on {_count(i['clean'])} test images, attacks on {_count(i['attack'])}, "
                     f"the strong check on {_count(i['strong'])}" for ds, i in images.items())
    out = [f"**Run {run_name}**: {n_methods} models × {len(seeds)} seed{'s' if len(seeds) != 1 else ''} "
           f"({', '.join(map(str, seeds))}); {data}.", ""]
    if len(seeds) < 2:
        out += [f"**A smoke test of the whole pipeline, not evidence.** One seed gives no interval, so every "
                f"measured claim is inconclusive by design. {DECIDING_PRESETS}.", ""]
    regime = pd.read_csv(regime_csv, keep_default_na=False)
    for paper, title in PAPERS.items():
        # an indicator shared by two regimes of a paper (the Table-1 and LRC sets) counts once
        rows = regime[(regime["paper_of"] == paper) & (regime["within"] != "not judged")].drop_duplicates(
            ["dataset", "indicator"])
        if rows.empty:
            out += [f"**{title}**: no regime indicator measured.", ""]
            continue
        parts = [f"{ds} {int((g['within'] == 'within').sum())} of {len(g)} regime indicators within"
                 for ds, g in rows.groupby("dataset", sort=False)]
        out += [f"**{title}**: " + "; ".join(parts) + ".", ""]
    out += [f"**Verdicts on the papers' own datasets**: {t['judged']} of the {t['claims']} claims judged — "
            f"{t['supported']} supported ({t['supported_holm']} after Holm), {t['contradicted']} contradicted, "
            f"{t['inconclusive']} inconclusive; {t['in_regime']} in the paper's regime, "
            f"{t['judged'] - t['in_regime']} outside it or on no paper regime. Not tested here: {t['not_tested']}.", ""]
    return out


def landing_page(card: list[str], template: str) -> str:
    """The report's landing page (Snakemake's workflow description): the verdict card above the
    short static ``report/workflow.rst``. Snakemake's report centres this page vertically without
    scrolling, so card and template together must fit one screen (issue 41: 1366×768;
    tests/unit/test_summary.py bounds the text).

    ``card`` is Markdown; the few constructs it uses become reStructuredText: inline code
    (`x` -> ``x``), and ``|`` escaped (a substitution reference in RST). Bold reads the same in
    both. The card is wrapped in Jinja's ``raw`` block because Snakemake renders the page as a
    Jinja template and the card is data, not template."""
    def rst(line: str) -> str:
        line = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", line)
        return re.sub(r"(?<!\\)\|", r"\\|", line)
    return "{% raw %}\n" + "\n".join(rst(line) for line in card) + "\n{% endraw %}\n\n" + template


def write_landing_page(path, card: list[str], template_path) -> None:
    write_text(path, landing_page(card, Path(template_path).read_text()))


def _paper(register: dict, measure: str, ds: str):
    """The paper's value of one regime measure for a dataset, from the claims register."""
    for indicators in register["regimes"].values():
        for i in indicators:
            if i["measure"] == measure and i.get("paper"):
                return i["paper"].get(ds, i["paper"].get("any"))
    return None


def _txt(v) -> str:
    from advreg.claims.register import as_text
    return as_text(v, missing="not stated")


def _beside(run, paper) -> str:
    return f"{_txt(run)} (paper {_txt(paper)})" if paper is not None else _txt(run)


def run_paragraph(regime: dict, run: dict, register: dict | None = None) -> str:
    """One paragraph on what the run was, each setting beside the paper's (claims register):
    ``regime``: advreg.workflow.config_views.run_regime; ``run``: seeds, the split used per dataset, the test
    images of the clean-accuracy table, the paper attack and its steps, the strong ensemble, the LRC grid (the summary rule's params)."""
    from advreg.claims import register as C
    register = register or C.load_register()
    parts = [f"seeds {_txt(run['seeds'])}"]
    for ds, st in regime["datasets"].items():
        parts.append(f"{ds} ({run['splits'][ds]}): SGR models {_beside(st['training_images'], _paper(register, 'training_images', ds))} "
                     f"training images, widths {_beside(st['widths'], _paper(register, 'widths', ds))}, "
                     f"{_beside(st['epochs'], _paper(register, 'epochs', ds))} epochs")
    if regime.get("pgd_train_steps"):
        parts.append(f"PGD training {_beside(regime['pgd_train_steps'], _paper(register, 'pgd_train_steps', 'any'))} steps")
    a = run["paper_attack"]
    parts.append(f"clean accuracy on {run['clean_max_test'] or 'all'} test images")
    parts.append(f"paper attack {a['name']} ({a['steps'] or 1} steps) on {run['max_test'] or 'all'} test images, "
                 f"checked by the strong ensemble " + " → ".join(
                     f"{e['kind']} (" + ", ".join(f"{v} {k}" for k, v in e.items() if k != "kind") + ")"
                     for e in run["strong"]))
    if run.get("lrc"):
        lrc = run["lrc"]
        parts.append(f"LRC sweep k = {_beside(lrc['k'], _paper(register, 'lrc_k', 'cifar10'))}, "
                     f"ζ {_txt(lrc['zetas'])}, ε {_txt(lrc['epsilons'])}")
    for ds, st in regime["sn"].items():
        parts.append(f"SN on {ds}: {_beside(st['training_images'], _paper(register, 'sn_training_images', ds))} "
                     f"training images, β {_beside(st['betas'], _paper(register, 'sn_betas', ds))}, "
                     f"{_beside(st['epochs'], _paper(register, 'sn_epochs', ds))} epochs")
    return "**What this run was** (each setting beside the paper's): " + "; ".join(parts) + "."


def write_summary(path, run_name: str, sections: list[tuple[str, list[str]]], figures: list[str],
                  repo_dir, notes: list[str], html_path=None, first: list[str] | None = None,
                  settings: dict | None = None, html_tables: dict | None = None) -> None:
    """``sections``: (heading, [Markdown table files]) in the paper's order; ``first``: lines that
    open the page (the verdict card, then ``opening``); ``html_path``: the same page rendered for
    the report, its tables coloured (``html_tables``: Markdown file -> HTML page) and its figure
    links opening the figures; ``settings``: run settings the provenance table adds."""
    lines = [f"# Reproduction summary: run `{run_name}`", ""] + (first or [])
    lines += [f"- {n}" for n in notes] + [""]
    for heading, files in sections:
        if not files:   # e.g. no published matrix for this run's datasets
            continue
        lines += [f"## {heading}", ""]
        for f in files:
            lines += [Path(f).read_text().rstrip(), ""]
    # each figure linked (its path relative to the summary) beside its vector twin
    here = Path(path).parent
    rel = [Path(os.path.relpath(f, here)).as_posix() for f in figures]
    lines += ["## Figures", ""] + [f"- [{Path(r).stem}]({r}) ([SVG]({r[:-4]}.svg))" for r in rel] + [""]
    lines += ["## Provenance", "", "| item | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in {**provenance(repo_dir), **(settings or {})}.items()]
    text = "\n".join(lines) + "\n"
    write_text(path, text)
    if html_path:
        # in the report, the SVG twin is not there to open: the PNG link alone
        page_text = text
        for r in rel:
            page_text = page_text.replace(f" ([SVG]({r[:-4]}.svg))", "")
        write_text(html_path, markdown_page(page_text, html_tables, dict(zip(rel, figures))))


def summary_job(inputs: dict, params: dict, out: dict) -> None:
    """The summary rule: summary.md / summary.html (the verdict card, the run paragraph, every table
    and figure of the run) and the report's landing page with the same card. ``inputs``: claims,
    claim_lines, regime_csv, tables, matrices, comparisons, structure, lrc, sn, figures, pages,
    clean_counts, attack_counts, strong_counts, landing_template; ``params``: datasets, run,
    regime, run_name, repo, methods, stand_ins, rehearsal; ``out``: md, html, landing."""
    i, p = inputs, params
    sections = [("Verdicts on the papers' claims (from this run's tables)", [i["claims"]]),
                ("Clean and white-box accuracy (Table 1), and the paper attack checked by the strong ensemble",
                 list(i["tables"])),
                ("White-box / transfer matrices (Tables 3, 4)", list(i["matrices"])),
                ("Comparison with the published matrices", list(i["comparisons"])),
                ("Covariance structure: decay lengths (Sec. 4.2)", list(i["structure"])),
                ("LRC attack sweep (Sec. 4.3, Figs. 3, 4)", list(i["lrc"])),
                ("Spectral normalization: adversarial generalization gap (Farnia et al. 2019)", list(i["sn"]))]
    notes = [f"datasets: {', '.join(p['datasets'])}; split used: "
             + "; ".join(f"{ds}: {how}" for ds, how in p["run"]["splits"].items())
             + " (each table's caption states its counts); selections (λ, β*, training curves) read the "
               "validation split carved from the training file, never a test image"]
    images = images_used(dict(zip(p["datasets"], i["clean_counts"])), dict(zip(p["datasets"], i["attack_counts"])),
                         dict(zip(p["datasets"], i["strong_counts"])))
    notes.append(images_note(images))
    card = warnings(p["stand_ins"], p["rehearsal"]) + verdict_card(p["run_name"], i["claim_lines"], i["regime_csv"],
                                                                   p["run"], images, len(p["methods"]))
    first = card + ["---", ""] + opening(i["claim_lines"], run_paragraph(p["regime"], p["run"]))
    write_summary(out["md"], p["run_name"], sections, list(i["figures"]), p["repo"], notes, html_path=out["html"],
                  first=first,
                  settings={"device setting (config device)": p["run"]["device"],
                            "CUDA numerics (config cuda_numerics; models record theirs in their signature)":
                                p["run"]["cuda_numerics"]},
                  html_tables={page[: -len(".html")] + ".md": page for page in i["pages"]})
    # the report's landing page opens with the same card (Snakefile: `report: landing_page_source()`)
    write_landing_page(out["landing"], card, i["landing_template"])

