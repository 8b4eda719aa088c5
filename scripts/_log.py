"""Send a script's output to its Snakemake log file (shared by every entry point)."""
import contextlib
import sys
import traceback


@contextlib.contextmanager
def logged(snakemake):
    path = snakemake.log[0] if snakemake.log else None
    if path is None:
        yield print
        return
    with open(path, "w", buffering=1) as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        try:
            yield lambda *a: print(*a, flush=True)
        except BaseException:
            traceback.print_exc()  # into the rule's log, not only the console
            raise
        sys.stdout.flush()
