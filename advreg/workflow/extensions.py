"""New training methods and attacks from outside advreg, named in the config (README
"Extending"). ``extensions:`` lists Python files (paths relative to the working directory) or
importable module names; importing one runs its ``@advreg.training.methods.register(...)`` classes and its
``advreg.attacks.kinds.register_attack(...)`` calls, so their kinds are known to the config check, to
every job (scripts/_log.py loads them in each job process) and to the cost model."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

_LOADED: dict[str, str] = {}  # entry -> file


def _is_path(entry: str) -> bool:
    return entry.endswith(".py") or "/" in entry


def files(entries, base=".") -> list[str]:
    """The files of the ``entries`` that are paths (absolute), e.g. a rule's code inputs."""
    return [str((Path(base) / e).resolve()) for e in entries or [] if _is_path(str(e))]


def load(entries, base=".") -> list[str]:
    """Import each entry once per process; return the files imported now. A missing file or a
    module that cannot be imported is a ValueError naming the entry and what was expected."""
    done = []
    for entry in map(str, entries or []):
        if entry in _LOADED:
            continue
        if _is_path(entry):
            path = (Path(base) / entry).resolve()
            if not path.is_file():
                raise ValueError(f"extensions: {entry!r}: no such file ({path}); expected a Python file "
                                 f"(a path relative to the working directory) or an importable module name")
            name = f"advreg_extension_{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            try:
                module = importlib.import_module(entry)
            except ImportError as err:
                raise ValueError(f"extensions: {entry!r} cannot be imported ({err}); expected a Python "
                                 f"file or an importable module name") from None
        _LOADED[entry] = getattr(module, "__file__", entry)
        done.append(_LOADED[entry])
    return done
