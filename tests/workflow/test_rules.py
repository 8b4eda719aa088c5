"""Each rule's `code` inputs are those of the script it runs (rules/common.smk script_code): a rule
that named another script's modules would not re-run when its own code changes."""
from __future__ import annotations

import re

from workflow_utils import REPO, snakemake_cli


def test_every_rule_declares_the_code_of_its_own_script():
    checked = 0
    for smk in sorted((REPO / "rules").glob("*.smk")):
        text = smk.read_text()
        scripts = set(re.findall(r'script:\s*\n\s*"\.\./scripts/(\w+)\.py"', text))
        # every script_code(...) in the file names a script a rule of that file runs
        assert set(re.findall(r'script_code\("(\w+)"\)', text)) <= scripts, smk.name
        for block in re.split(r"(?m)^(?=(?:local)?rule \w+:)", text):
            block = block.split("\ndef ")[0]  # a rule ends where the next input function begins
            runs = re.search(r'script:\s*\n\s*"\.\./scripts/(\w+)\.py"', block)
            declared = re.findall(r'script_code\("(\w+)"\)', block)
            if runs and declared:
                assert declared == [runs.group(1)], (smk.name, block.splitlines()[0])
                checked += 1
    assert checked >= 20


def test_report_captions_name_only_their_rules_wildcards():
    """A caption (report/*.rst) that reads `snakemake.wildcards.X` of a rule without the wildcard X
    renders an empty string silently: the merged per-dataset white-box rule once printed "(seed )"."""
    checked = 0
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule \w+:)", smk.read_text())[1:]:
            log = re.search(r"log:\s*\n\s*f?\"([^\"]+)\"", block)
            wildcards = set(re.findall(r"\{\{(\w+)\}\}", log.group(1))) if log else set()
            for caption in re.findall(r'caption="\.\./report/(\w+\.rst)"', block):
                used = set(re.findall(r"snakemake\.wildcards\.(\w+)", (REPO / "report" / caption).read_text()))
                assert used <= wildcards, (smk.name, block.splitlines()[0], caption, used - wildcards)
                checked += 1
    assert checked >= 20


def _graph(mermaid: str) -> tuple[set[str], set[tuple[str, str]]]:
    """(rule names, edges between rule names) of a mermaid rule graph: node ids are numbered in an
    order Snakemake does not fix, so the graph is compared by names."""
    names = dict(re.findall(r"^\s*(id\d+)\[(\w+)\]", mermaid, re.M))
    edges = {(names[a], names[b]) for a, b in re.findall(r"^\s*(id\d+) --> (id\d+)", mermaid, re.M)}
    return set(names.values()), edges


def test_the_readme_shows_the_current_rule_graph():
    """The README's rule graph is `snakemake --rulegraph mermaid-js` of the tiny preset (styles
    dropped): a rule added, removed or rewired without updating it fails here."""
    from workflow_utils import snakemake_cli

    out = snakemake_cli(REPO, "--rulegraph", "mermaid-js", "--configfile", "presets/tiny.yaml").stdout
    readme = (REPO / "README.md").read_text()
    shown = readme.split("<!-- rulegraph:begin -->\n```mermaid\n", 1)[1].split("\n```\n<!-- rulegraph:end -->")[0]
    rules, edges = _graph(out)
    assert len(rules) >= 25 and len(edges) >= 40
    assert _graph(shown) == (rules, edges), "README's rule graph is stale: regenerate it with snakemake --rulegraph mermaid-js"


def test_lint_is_clean():
    """`snakemake --lint` finds nothing: rule files hold rules, their functions live in
    rules/common.smk (the snakemake-workflows catalog checks this in its CI)."""
    proc = snakemake_cli(REPO, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr, \
        (proc.stdout + proc.stderr)[-3000:]


def test_rule_files_are_formatted_as_snakefmt_formats_them():
    """`snakefmt --check` passes on the Snakefile and every rule file (line length from
    pyproject.toml), as the snakemake-workflows catalog's CI checks (issue 28)."""
    import subprocess
    import sys
    from pathlib import Path

    snakefmt = Path(sys.executable).with_name("snakefmt")
    proc = subprocess.run([str(snakefmt), "--check", "Snakefile", "rules/"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def test_every_reported_dataset_output_carries_the_stand_in_note():
    """A rule whose report() output belongs to one dataset passes `note=data_note`, so a stand-in
    dataset's caption says so (issue 27); a rule added without it would show generated numbers as
    results."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    missing, checked = [], []
    for smk in sorted((repo / "rules").glob("*.smk")):
        for block in re.split(r"^(?=(?:local)?rule \w+:)", smk.read_text(), flags=re.M):
            name = re.match(r"(?:local)?rule (\w+):", block)
            if not name:
                continue
            outputs = block.split("    output:", 1)[-1].split("    params:", 1)[0] if "    output:" in block else ""
            if "report(" in outputs and "{{dataset}}" in outputs:
                checked.append(name.group(1))
                if "note=data_note" not in block:
                    missing.append(f"{smk.name}:{name.group(1)}")
    assert len(checked) >= 10 and not missing, (checked, missing)
