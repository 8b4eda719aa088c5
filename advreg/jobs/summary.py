"""results/<run>/summary.md: every table of the run in the paper's order, the figure list, and
the run's provenance, for reading without a browser (the HTML report carries the same)."""
from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

from advreg.atomic import write_text

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
    # each model records the device it trained on in its file (advreg.io.device_signature)
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


def markdown_page(text: str) -> str:
    """summary.md as the report's first page (Python-Markdown with its tables extension)."""
    import markdown
    return _PAGE.format(body=markdown.markdown(text, extensions=["tables"]))


def opening(claim_lines_csv, regime_md, stand_ins=(), paragraph: str = "", rehearsal: bool = False) -> list[str]:
    """The summary's first lines: a rehearsal notice (config `rehearsal: true`) and a stand-in
    warning when the run used one (advreg.stand_in), the verdict totals (one verdict per claim,
    counted only on the papers' own datasets, with how many are in the paper's regime:
    advreg.jobs.verdicts.totals), then how close the run came to each paper's regime (the lines
    advreg.jobs.verdicts wrote above its regime table)."""
    import pandas as pd
    from advreg.jobs.verdicts import totals, totals_text
    from advreg.stand_in import STAND_IN_LABEL
    lines = pd.read_csv(claim_lines_csv, keep_default_na=False)
    regime = [line for line in Path(regime_md).read_text().splitlines() if line.startswith("- ")]
    warn = ([f"**{STAND_IN_LABEL}: {', '.join(stand_ins)}.** Every table and figure of "
             f"{', '.join(stand_ins)} in this run comes from generated data (data.stand_in): it rehearses "
             f"the code path, it measures nothing; its claim rows read \"not tested (stand-in data)\".", ""]
            if stand_ins else [])
    if rehearsal:
        warn = ["**A rehearsal (config `rehearsal: true`), not a result.** Every job of the full run "
                "ran once at cut sizes (images, epochs, steps) to show that its code paths work; the "
                "models are near chance, so no claim is judged: a claim row reads \"not tested "
                "(rehearsal)\", or \"not tested (stand-in data)\" for a stand-in dataset.", ""] + warn
    return warn + (["**Verdicts** (one per claim; the table below, its cases under it): "
                    + totals_text(totals(lines)), ""]
                   + ["**How close this run came to each paper's regime** (indicators and tolerances: "
                      "`tables/regime.md`, from the claims register):", ""] + regime + [""]
                   + ([paragraph, ""] if paragraph else []))


def landing_page(first: list[str], template: str) -> str:
    """The report's landing page (Snakemake's workflow description): the summary's opening lines
    (verdict totals, regime lines, what the run was) above the static ``report/workflow.rst``.

    ``first`` is Markdown; the few constructs it uses become reStructuredText: inline code
    (`x` -> ``x``), and ``|`` escaped (a substitution reference in RST). Bold and "- " bullets
    read the same in both. The opening is wrapped in Jinja's ``raw`` block because Snakemake
    renders the page as a Jinja template and the opening is data, not template."""
    def rst(line: str) -> str:
        line = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", line)
        return re.sub(r"(?<!\\)\|", r"\\|", line)
    # on the landing page the verdict table is not "below" but on the summary page
    body = [rst(line).replace("(one per claim; the table below, its cases under it)", '(one per claim; the verdict table of "1 Summary")') for line in first]
    return "{% raw %}\n" + "\n".join(body) + "\n{% endraw %}\n\n" + template


def write_landing_page(path, first: list[str], template_path) -> None:
    write_text(path, landing_page(first, Path(template_path).read_text()))


def _paper(register: dict, measure: str, ds: str):
    """The paper's value of one regime measure for a dataset, from the claims register."""
    for indicators in register["regimes"].values():
        for i in indicators:
            if i["measure"] == measure and i.get("paper"):
                return i["paper"].get(ds, i["paper"].get("any"))
    return None


def _txt(v) -> str:
    from advreg.claims import as_text
    return as_text(v, missing="not stated")


def _beside(run, paper) -> str:
    return f"{_txt(run)} (paper {_txt(paper)})" if paper is not None else _txt(run)


def run_paragraph(regime: dict, run: dict, register: dict | None = None) -> str:
    """One paragraph on what the run was, each setting beside the paper's (claims register):
    ``regime``: advreg.config.run_regime; ``run``: seeds, the split used per dataset, the test
    images of the clean-accuracy table, the paper attack and its steps, the strong ensemble, the LRC grid (the summary rule's params)."""
    from advreg import claims as C
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
                  settings: dict | None = None) -> None:
    """``sections``: (heading, [Markdown table files]) in the paper's order; ``first``: lines that
    open the page (``opening``); ``html_path``: the same page rendered for the report;
    ``settings``: run settings the provenance table adds (device, CUDA numerics)."""
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
    for out, content in ((path, text), (html_path, markdown_page(text) if html_path else None)):
        if out:
            write_text(out, content)
