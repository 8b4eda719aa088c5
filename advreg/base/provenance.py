"""Fingerprints of what determines a trained model: the code it ran and the data it saw.

A checkpoint is resumed only when these match (``advreg.training.loop``), so a change to a module the
training imports, or to the dataset artifact, starts the model from scratch instead of finishing
it with the old code's or the old data's epochs.
"""
from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

from advreg.base.references import PATTERN as _REFERENCE

PACKAGE = "advreg"
_ROOT = Path(__file__).resolve().parents[1]  # the advreg package folder


def module_relpath(name: str) -> Path | None:
    """The file of advreg module ``name`` relative to the package folder (``jobs/sn.py``,
    ``figures/__init__.py``), or None when there is none."""
    f = _module_file(name)
    return f.relative_to(_ROOT) if f is not None else None


def _module_file(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:])
    for cand in (_ROOT / rel.with_suffix(".py"), _ROOT / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _imports(path: Path) -> set[str]:
    """advreg modules imported anywhere in ``path`` (top level or inside functions), or named as
    an implementation ("advreg.<module>:<name>")."""
    return set(_parsed_imports(str(path), path.stat().st_mtime_ns))


@lru_cache(maxsize=None)
def _parsed_imports(path: str, mtime_ns: int) -> frozenset[str]:
    # cached per file version: every rule's script_code walks the same modules at each Snakemake start
    out = set()
    for node in ast.walk(ast.parse(Path(path).read_text(), path)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == PACKAGE:
                out.add(node.module)
                # `from advreg import attacks` imports the module advreg.attacks.whitebox
                out |= {f"{node.module}.{a.name}" for a in node.names
                        if _module_file(f"{node.module}.{a.name}") is not None}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _REFERENCE.match(node.value):
            out.add(_REFERENCE.match(node.value).group(1))
    return frozenset(m for m in out if m != PACKAGE)


def file_closure(path: str | Path) -> list[str]:
    """Every advreg module a file (e.g. a rule's script) imports, transitively (sorted)."""
    return sorted({m for name in _imports(Path(path)) for m in module_closure(name)})


def module_closure(module: str) -> list[str]:
    """``module`` and every advreg module it imports, transitively (sorted)."""
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        path = _module_file(m)
        if path is None:
            continue
        seen.add(m)
        todo += sorted(_imports(path) - seen)
    return sorted(seen)


# Modules that only format log lines: they cannot change a trained weight, so editing them does
# not set aside every checkpoint.
NOT_IN_DIGEST = ("advreg.base.progress",)


@lru_cache(maxsize=None)
def code_digest(module: str) -> str:
    """SHA-256 over the source of ``module`` and every advreg module it imports (but the log
    formatting of NOT_IN_DIGEST)."""
    h = hashlib.sha256()
    for m in module_closure(module):
        if m in NOT_IN_DIGEST:
            continue
        h.update(m.encode() + b"\0" + _module_file(m).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def file_digest(path: str | Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes (a dataset artifact: tens of MB, well under a second)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()[:16]
