"""The package's floor plan, read from its source with ``ast`` (issues 15, 42): every module sits in
one of the subpackages below, each imports only from the layers LAYERS allows it (so nothing imports
upward), there is no import cycle, and no block of more than 10 lines is written twice in advreg/."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from workflow_utils import REPO

PKG = REPO / "advreg"


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """advreg modules imported anywhere in ``path`` (top level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "advreg":
            # `from advreg.jobs import sn` imports the module advreg.jobs.sn
            subs = {f"{node.module}.{a.name}" for a in node.names} & MODULES.keys()
            out |= subs or ({node.module} & MODULES.keys())
    return out - {"advreg"}


GRAPH = {m: _imports(p) for m, p in MODULES.items()}


# Each subpackage and the subpackages it imports from (besides itself), exactly: an edge is added here
# on purpose, in review, and one no module uses any more fails the test below. Read upward: the shared
# utilities, the datasets, the networks; the SGR mathematics (pure tensor functions, no other layer);
# the attacks; training; the claims register beside them; the workflow's config check and cost
# model over those; the figures (only the shared utilities: they compute nothing of the papers);
# the jobs, which alone write a run's artifacts, on top.
LAYERS = {
    "base": set(),
    "data": {"base"},
    "claims": {"base"},
    "nn": {"base", "data"},
    "sgr": set(),
    "attacks": {"base", "nn", "sgr"},
    "training": {"base", "data", "nn", "sgr", "attacks"},
    "workflow": {"base", "data", "nn", "attacks", "training", "claims"},
    "figures": {"base"},
    "jobs": {"base", "data", "nn", "sgr", "attacks", "training", "claims", "workflow", "figures"},
}
ORDER = list(LAYERS)   # the layers in the order above: an edge only ever points to an earlier one


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "root"


def test_every_module_sits_in_a_declared_subpackage():
    loose = sorted(m for m in MODULES if _layer(m) not in LAYERS and m != "advreg")
    assert not loose, f"modules outside the floor plan {sorted(LAYERS)}: {loose}"
    assert set(LAYERS) == {_layer(m) for m in MODULES} - {"root"}


def test_the_reader_sees_the_imports_it_should():
    assert "advreg.nn.layers" in GRAPH["advreg.nn.models"]
    assert "advreg.nn.predict" in GRAPH["advreg.training.loop"]


def test_no_import_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(GRAPH[m]):
            assert state.get(n) != 1, "import cycle: " + " -> ".join(path[path.index(n):] + [n])
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)


def test_imports_only_go_down_the_layers():
    wrong = [f"{m} ({_layer(m)}) imports {n} ({_layer(n)})"
             for m, deps in sorted(GRAPH.items()) for n in sorted(deps)
             if _layer(n) != _layer(m) and _layer(n) not in LAYERS.get(_layer(m), set())]
    assert not wrong, "\n".join(wrong)


def _edges() -> set[tuple[str, str]]:
    return {(_layer(m), _layer(n)) for m, deps in GRAPH.items() for n in deps if _layer(n) != _layer(m)}


def test_every_declared_edge_is_used_and_points_down():
    """LAYERS says what the imports do: no allowed edge is unused, and every edge points to a
    layer declared before its importer (so the declared order is a layering, not just a list)."""
    declared = {(a, b) for a, deps in LAYERS.items() for b in deps}
    assert declared - _edges() == set(), f"edges LAYERS allows that no module uses: {sorted(declared - _edges())}"
    upward = [(a, b) for a, b in declared if ORDER.index(b) > ORDER.index(a)]
    assert not upward, f"edges that point up the declared order: {upward}"


def test_the_layering_test_fails_on_an_upward_import(tmp_path):
    """The check above can fail: an attack importing the training loop is caught."""
    graph = dict(GRAPH)
    graph["advreg.attacks.whitebox"] = GRAPH["advreg.attacks.whitebox"] | {"advreg.training.loop"}
    wrong = [(m, n) for m, deps in graph.items() for n in deps
             if _layer(n) != _layer(m) and _layer(n) not in LAYERS.get(_layer(m), set())]
    assert wrong == [("advreg.attacks.whitebox", "advreg.training.loop")]


def _blocks(n: int = 11):
    """Every run of ``n`` consecutive non-blank, non-comment lines (stripped) in advreg/, with
    where it starts; docstring lines count as code (a copied docstring is a copy)."""
    for path in sorted(PKG.rglob("*.py")):
        lines = [(i + 1, ln.strip()) for i, ln in enumerate(path.read_text().splitlines())]
        lines = [(i, ln) for i, ln in lines if ln and not ln.startswith("#")]
        for k in range(len(lines) - n + 1):
            window = tuple(ln for _, ln in lines[k:k + n])
            # a run of closing brackets or imports is not logic written twice
            if sum(len(ln) > 3 and not ln.startswith(("import ", "from ")) for ln in window) >= n - 2:
                yield window, f"{path.relative_to(REPO)}:{lines[k][0]}"


def test_no_block_of_more_than_ten_lines_is_written_twice():
    seen = defaultdict(list)
    for window, where in _blocks():
        seen[window].append(where)
    twice = {w: places for w, places in seen.items() if len(places) > 1}
    assert not twice, "repeated blocks:\n" + "\n".join(
        f"{', '.join(p)}: {w[0]} …" for w, p in list(twice.items())[:10])


# Jobs that only read tables and write tables or figures (issue 28): they start without torch.
TABLE_AND_FIGURE_SCRIPTS = ("claim_verdicts", "group_seeds", "masking_table", "paper_comparison",
                            "plot_training_curves", "robustness_table", "sn_results", "stack_seeds",
                            "summary", "whitebox_table")


def test_table_and_figure_jobs_import_no_torch():
    """Every advreg module a table or figure script imports, in a fresh interpreter: torch is not
    among what it loads (it costs 2-3 s a job)."""
    import subprocess
    import sys

    modules = set()
    for name in TABLE_AND_FIGURE_SCRIPTS:
        tree = ast.parse((REPO / "scripts" / f"{name}.py").read_text())
        modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
                    and n.module.startswith("advreg")}
    assert len(modules) >= 8
    code = "import sys\n" + "".join(f"import {m}\n" for m in sorted(modules)) + \
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]", f"{sorted(modules)} import torch: {out.stdout[:300]}"


def test_planning_the_workflow_imports_no_torch(tmp_path):
    """Issue 28: parsing the Snakefile, checking the config and planning every job of the full
    reproduction (a dry run of config.yaml) loads no torch: the declarations the config check reads
    (methods, attacks, architectures, datasets, training settings) sit in torch-free modules."""
    import subprocess
    import sys

    from workflow_utils import copy_workflow

    work = copy_workflow(tmp_path / "wf")
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('TORCH_LOADED', sorted(m for m in sys.modules "
            "if m == 'torch' or m.startswith('torch.'))[:3]))\n"
            "from snakemake.cli import main\n"
            "sys.argv = ['snakemake', '--dry-run', '--quiet']\n"
            "main()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=work)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "TORCH_LOADED []" in out.stdout, out.stdout[-500:]


# What a rule's script may do besides calling its job (issue 42: jobs own all reading and writing):
# unpack `snakemake`, set torch's threads, format log lines.
SCRIPT_IMPORTS = {"_log", "torch", "json", "advreg.base.progress"}
FILE_CALLS = {"open", "read_csv", "read_text", "load", "save", "savefig", "to_csv", "write_table", "write_text",
              "write_json", "save_torch"}


def _script_problems(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module not in SCRIPT_IMPORTS and not node.module.startswith("advreg.jobs."):
                out.append(f"imports from {node.module}")
        elif isinstance(node, ast.Import):
            out += [f"imports {a.name}" for a in node.names if a.name not in SCRIPT_IMPORTS]
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in FILE_CALLS:
                out.append(f"calls {name}()")
    return out


def test_scripts_only_unpack_snakemake_and_call_their_job():
    """Every rule's script imports its job from advreg.jobs and reads or writes no file itself; the
    check catches a script that writes a table or reads an input (as clean_accuracy.py did)."""
    wrong = {p.name: probs for p in sorted((REPO / "scripts").glob("*.py")) if p.name != "_log.py"
             for probs in [_script_problems(ast.parse(p.read_text()))] if probs}
    assert not wrong, wrong
    old = ("from advreg.figures.tables import write_table\nimport pandas as pd\n"
           "df = pd.read_csv(snakemake.input[0])\nwrite_table(df, snakemake.output.csv)\n")
    assert _script_problems(ast.parse(old)) == ["imports from advreg.figures.tables", "imports pandas",
                                                "calls read_csv()", "calls write_table()"]
