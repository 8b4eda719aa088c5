"""Send a script's output to its Snakemake log file (shared by every entry point)."""
import contextlib
import sys


@contextlib.contextmanager
def logged(snakemake):
    path = snakemake.log[0] if snakemake.log else None
    if path is None:
        yield print
        return
    with open(path, "w", buffering=1) as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        yield lambda *a: print(*a, flush=True)
        sys.stdout.flush()
