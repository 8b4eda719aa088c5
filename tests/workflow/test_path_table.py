"""One path table (issue 42, item 2): every file under a run's results directory is spelled once, in
rules/common.smk's PATHS, and every rule reads it there: its outputs, its inputs, the input
functions and the target lists. A path typed a second time drifts (the training curves once read
the history through ``model_path(...).replace("model.pt", "history.csv")``).

Three checks, each shown able to fail: rules/ and the Snakefile spell no path under the results
directory outside the table (a rule's own log and benchmark, which no other rule reads, excepted);
every rule's output is an entry of the table and every entry has one producer; and with every entry
moved to its own directory (in a copy of the workflow) the tiny preset still plans the same jobs,
each file where its entry now says, which it could not if a consumer spelled its input itself."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tokenize
from collections import Counter
from pathlib import Path

import pytest
from workflow_utils import REPO, copy_workflow

# Entries that are no rule's output: a job's scratch (prepare_dataset's downloads, the training
# checkpoints a re-run resumes from), named in params.
SCRATCH = {"raw", "checkpoint", "sn_checkpoint"}

# The plan of a workflow copy, printed as JSON by Snakemake's API (run in the copy, in its own
# process): the table, each rule's output patterns, and every job of a forced dry run.
PLAN = r"""
import json, re, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.enums import Quietness
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
    wf = api.workflow(resource_settings=ResourceSettings(cores=1),
                      config_settings=ConfigSettings(configfiles=[Path(p) for p in sys.argv[1:]]),
                      snakefile=Path("Snakefile").absolute(), workdir=Path(".").absolute())
    w = wf.dag(dag_settings=DAGSettings(forceall=True)).workflow_api._workflow
    # a pattern as the rule wrote it: the wildcard constraints Snakemake put in ({dataset,mnist}) out
    unconstrained = lambda f: re.sub(r"\{(\w+),(?:[^{}]|\{[^{}]*\})*\}", r"{\1}", str(f))
    rules = {r.name: [unconstrained(f) for f in r.output] for r in w.rules}
    w._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
    w._build_dag()
    jobs = [{"rule": j.rule.name, "wildcards": dict(j.wildcards_dict),
             "input": [str(f) for f in j.input], "output": [str(f) for f in j.output]} for j in w.dag.jobs]
    print("PLAN " + json.dumps({"R": w.globals["R"], "paths": w.globals["PATHS"], "rules": rules, "jobs": jobs}))
"""

# Moves every entry into a directory of its own: R/moved/<entry>/... (added after the table).
RELOCATE = 'PATHS = {k: v.replace(R + "/", f"{R}/moved/{k}/", 1) for k, v in PATHS.items()}\n'

# A consumer that types its input's path instead of reading the table (the old history path).
HAND_TYPED = '''

def history_files(w):
    return {f"{m} (seed {s})": f"{R}/models/{w.dataset}/{m}/seed{s}/history.csv" for m in METHODS for s in SEEDS}
'''


# ------------------------------------------------------------------ the text: no path outside the table


def loose_paths(name: str, text: str) -> list[str]:
    """Where a rule file (or the Snakefile) builds a path under the results directory itself: an
    f-string with ``{R}``, the name ``R``, or ``results_dir``, outside common.smk's definition of R
    and its PATHS table and outside a rule's ``log:`` and ``benchmark:``."""
    allowed = set()
    lines = text.splitlines()
    skip_indent = None  # inside a log:/benchmark: directive (lines indented deeper than it)
    in_table = False
    for i, line in enumerate(lines, 1):
        indent = len(line) - len(line.lstrip())
        if in_table:
            allowed.add(i)
            in_table = line.rstrip() != "}"
            continue
        if skip_indent is not None and (not line.strip() or indent > skip_indent):
            allowed.add(i)
            continue
        skip_indent = None
        if re.match(r"\s+(log|benchmark):\s*$", line):
            skip_indent = indent
        elif name == "common.smk" and line.startswith("PATHS = {"):
            in_table = True
            allowed.add(i)
        elif name == "common.smk" and line.startswith("R = os.path.join(config[\"results_dir\"]"):
            allowed.add(i)
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        loose = (tok.type == tokenize.STRING and ("{R}" in tok.string or "results_dir" in tok.string)) or (
            tok.type == tokenize.NAME and tok.string == "R")
        if loose and tok.start[0] not in allowed:
            found.append(f"{name}:{tok.start[0]}: {lines[tok.start[0] - 1].strip()}")
    return found


def _workflow_texts() -> dict[str, str]:
    files = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    return {f.name: f.read_text() for f in files}


def test_rules_spell_no_path_under_the_results_dir_outside_the_table():
    texts = _workflow_texts()
    assert "PATHS = {" in texts["common.smk"]
    found = [hit for name, text in texts.items() for hit in loose_paths(name, text)]
    assert not found, "a path under R typed outside PATHS (rules/common.smk):\n" + "\n".join(found)


def test_the_text_check_catches_a_path_typed_outside_the_table():
    """A rule output, an input function and a join on R, each typed by hand, are found; the rule's
    own log stays allowed."""
    texts = _workflow_texts()
    train = texts["train.smk"].replace('model=PATHS["model"],', 'model=f"{R}/models/{{dataset}}/{{method}}/seed{{seed}}/model.pt",')
    assert train != texts["train.smk"]
    assert [h.split(": ", 1)[1] for h in loose_paths("train.smk", train)] == [
        'model=f"{R}/models/{{dataset}}/{{method}}/seed{{seed}}/model.pt",']
    common = texts["common.smk"] + HAND_TYPED + '\n\ndef raw(w):\n    return os.path.join(R, "data", "raw")\n'
    hits = loose_paths("common.smk", common)
    assert len(hits) == 2 and "history.csv" in hits[0] and "os.path.join(R" in hits[1], hits
    assert loose_paths("x.smk", 'rule a:\n    log:\n        f"{R}/logs/a.log",\n    shell:\n        "x"\n') == []


# ------------------------------------------------------------------ the plan: outputs and inputs are table entries


def _plan(workdir: Path, expect_failure: bool = False) -> dict | str:
    configs = [workdir / "presets" / "tiny.yaml"]
    proc = subprocess.run([sys.executable, "-c", PLAN, *map(str, configs)], cwd=workdir,
                          capture_output=True, text=True)
    if expect_failure:
        assert proc.returncode != 0, "the plan should have failed"
        return proc.stdout + proc.stderr
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("PLAN "))
    return json.loads(line[len("PLAN "):])


def _workflow_copy(dest: Path, after_table: str = "", at_end: str = "") -> Path:
    """A copy of the workflow with code added to its rules/common.smk after the table and at the end."""
    wd = copy_workflow(dest)
    common = wd / "rules" / "common.smk"
    text = common.read_text()
    table = re.search(r"(?ms)^PATHS = \{\n.*?^\}\n", text)
    assert table, "no PATHS table in rules/common.smk"
    common.write_text(text[: table.end()] + after_table + text[table.end():] + at_end)
    return wd


def entry_regex(pattern: str) -> re.Pattern:
    """The files of an entry: its wildcards as themselves (a rule's pattern) or filled in, a stem
    (no extension) followed by one."""
    parts = re.split(r"(\{\w+\})", pattern)
    rx = "".join(f"(?:{re.escape(p)}|[^/{{}}]+)" if re.fullmatch(r"\{\w+\}", p) else re.escape(p) for p in parts)
    stem = "." not in pattern.rsplit("/", 1)[-1]
    return re.compile(rx + (r"\.\w+" if stem else ""))


def entries_of(paths: dict, f: str) -> list[str]:
    return [name for name, pattern in paths.items() if entry_regex(pattern).fullmatch(f)]


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """The tiny preset's plan as the workflow is, and with every entry moved."""
    base = _plan(_workflow_copy(tmp_path_factory.mktemp("paths")))
    moved = _plan(_workflow_copy(tmp_path_factory.mktemp("moved"), RELOCATE))
    return base, moved


def test_every_output_is_an_entry_of_the_table_and_every_entry_has_one_producer(plans):
    base, _ = plans
    paths, R = base["paths"], base["R"]
    assert len(paths) >= 40 and all(p.startswith(R + "/") for p in paths.values())
    producers = {name: set() for name in paths}
    for rule, outputs in base["rules"].items():
        for out in outputs:
            names = entries_of(paths, out)
            assert len(names) == 1, f"rule {rule}'s output {out} is not one PATHS entry: {names}"
            producers[names[0]].add(rule)
    assert len(base["rules"]) >= 27
    wrong = {n: sorted(r) for n, r in producers.items() if len(r) != (0 if n in SCRATCH else 1)}
    assert not wrong, f"entries without exactly one producing rule (scratch: {sorted(SCRATCH)}): {wrong}"
    # the matcher can fail: a file beside an entry's is not that entry
    assert entries_of(paths, paths["model"].replace("model.pt", "model_v2.pt")) == []
    assert entries_of(paths, paths["history"].format(dataset="mnist", method="clean", seed=0)) == ["history"]


def _jobs(plan: dict) -> Counter:
    return Counter((j["rule"], tuple(sorted(j["wildcards"].items()))) for j in plan["jobs"])


def test_every_consumer_reads_its_input_where_the_producers_entry_puts_it(plans):
    """With each entry moved to R/moved/<entry>/, the same jobs are planned (a consumer that typed
    its input itself would find no producer), and every input and output under R of every job is
    a file of the entry whose directory it is in: producer and consumer share the entry."""
    base, moved = plans
    assert _jobs(moved) == _jobs(base) and len(base["jobs"]) >= 50
    R, paths = moved["R"], moved["paths"]
    checked = 0
    for job in moved["jobs"]:
        for f in job["input"] + job["output"]:
            if not f.startswith(R + "/"):
                continue  # the code, the report template, the extension files
            m = re.match(re.escape(R) + r"/moved/(\w+)/", f)
            assert m, f"{job['rule']}: {f} was not moved with the table"
            assert entry_regex(paths[m.group(1)]).fullmatch(f), (job["rule"], f, paths[m.group(1)])
            checked += 1
    assert checked >= 300
    counts = {j["rule"]: len(j["input"]) for j in base["jobs"]}
    assert counts == {j["rule"]: len(j["input"]) for j in moved["jobs"]}


def test_the_moved_table_catches_a_consumer_that_types_its_input(tmp_path):
    """The old hand-typed history path of the training curves: planned fine where it happens to
    equal the table's, refused once the table moves."""
    out = _plan(_workflow_copy(tmp_path, RELOCATE, HAND_TYPED), expect_failure=True)
    assert "MissingInputException" in out and "history.csv" in out, out[-3000:]
