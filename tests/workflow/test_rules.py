"""Each rule's `code` inputs are those of the script it runs (rules/common.smk script_code): a rule
that named another script's modules would not re-run when its own code changes."""
from __future__ import annotations

import re

from workflow_utils import REPO


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
