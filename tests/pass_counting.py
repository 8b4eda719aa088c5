"""Counting what the jobs of a run do (issue 42, item 6): the images each job passes through its
model's forward, for comparison with the cost model's prediction (advreg.workflow.cost.job_passes).

``counting_env(folder)`` returns the environment variables that make every job script of a run
started with them count: a ``sitecustomize.py`` in ``folder/site`` (on PYTHONPATH, so each job's
fresh interpreter runs it) registers global module forward hooks as soon as the job imports torch
and, at exit, writes ``folder/<rule>-<pid>.json`` with the job's rule, wildcards, working
directory (the run's) and counts. Only
top-level calls count (a depth counter: a model's own layers are part of its call), and only of
modules with parameters (a model, not a parameterless loss or wrapper of no model); a call's images
are its first tensor argument's batch size. ``read_counts(folder)`` sums them per job.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

SITECUSTOMIZE = r'''
import os
import sys

_DIR = os.environ.get("ADVREG_PASS_COUNTS")
# only a Snakemake job script (.snakemake/scripts/tmpXXXX.<script>.py), not Snakemake itself
if _DIR and ".snakemake" in (sys.argv[0] if sys.argv else ""):
    import atexit
    import importlib.abc
    import importlib.util
    import json

    _counts = {"forward": 0, "grad_forward": 0, "calls": 0}
    _depth = [0]

    def _install(torch):
        def pre(module, args):
            if _depth[0] == 0 and args and isinstance(args[0], torch.Tensor) and args[0].dim() > 0 \
                    and next(module.parameters(), None) is not None:
                _depth.append(args[0].shape[0])
            else:
                _depth.append(0)
            _depth[0] += 1

        def post(module, args, output):
            _depth[0] -= 1
            n = _depth.pop()
            if n:
                _counts["forward"] += n
                _counts["calls"] += 1
                if isinstance(output, torch.Tensor) and output.requires_grad:
                    _counts["grad_forward"] += n

        torch.nn.modules.module.register_module_forward_pre_hook(pre)
        torch.nn.modules.module.register_module_forward_hook(post)

    class _AfterTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != "torch":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                _install(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _AfterTorch())

    @atexit.register
    def _write():
        import __main__
        job = getattr(__main__, "snakemake", None)
        if job is None:
            return
        out = {"rule": job.rule, "wildcards": dict(job.wildcards.items()), "workdir": os.getcwd(), **_counts}
        with open(os.path.join(_DIR, f"{job.rule}-{os.getpid()}.json"), "w") as f:
            json.dump(out, f)
'''


def counting_env(folder: Path) -> dict[str, str]:
    """Environment variables under which a run's job scripts count their forward passes into
    ``folder`` (see the module's docstring)."""
    site = Path(folder) / "site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "ADVREG_PASS_COUNTS": str(folder)}


def read_counts(folder: Path, workdir: Path) -> list[dict]:
    """Every counted job of the run in ``workdir``: {rule, wildcards, workdir, forward,
    grad_forward (images whose output carried a graph), calls}."""
    jobs = [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]
    return [j for j in jobs if Path(j["workdir"]).resolve() == Path(workdir).resolve()]
