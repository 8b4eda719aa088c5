"""Send a script's output to its Snakemake log file (shared by every entry point), and make a killed
job say so in that log.

- SIGTERM, SIGINT and SIGHUP (Snakemake cancelling its jobs, Ctrl-C, SLURM's time limit) end the
  job with a last log line "KILLED at <time>: ..." instead of stopping it mid-line (a SIGHUP that
  `nohup` ignores stays ignored).
- A job whose Snakemake was killed (SIGKILL: it cannot cancel its jobs) would run on as an orphan,
  finish, and delete its training checkpoint while Snakemake's metadata still marks its outputs
  incomplete. A watcher thread notices that the parent process is gone and ends the job the same
  way, so the checkpoint stays and the re-run resumes from it (docs/running.md "Recovering a killed run").
- SIGKILL of the job itself cannot be caught: its log then ends without that line.
Every script imports this module first, so Snakemake's pid is recorded before the heavy imports.

Every line is timestamped, and the log opens with the job's rule and wildcards, and, for a job
that computes (one with a `device` param), the device it runs on, with a warning when it expected a
GPU and has none (advreg.base.progress.describe_device): no rule log is empty.
"""
import contextlib
import os
import signal
import sys
import threading
import time
import traceback

WATCH_SECONDS = 2.0


class Killed(BaseException):
    """The job was told to stop; not an Exception, so no `except Exception` swallows it."""


_reason = {"why": None}

# The process whose end means Snakemake is gone: this job's parent. Recorded when the script imports
# this module (first thing it does), not after its heavy imports.
_PARENT = os.getppid()


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` is running (one we may not signal counts as alive). A zombie is not
    (Linux /proc)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def parent_gone(parent: int) -> bool:
    """Whether ``parent`` (this process's parent when it started: Snakemake) is gone. getppid alone
    is not enough: a SIGKILLed multi-threaded Snakemake shows as a zombie while its other threads
    still exit, and only after them is this process reparented."""
    return os.getppid() != parent or not is_alive(parent)


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def _on_signal(signum, frame):
    raise Killed(_reason["why"] or f"received {signal.Signals(signum).name}")


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCH_SECONDS)
        if parent_gone(parent):
            _reason["why"] = f"Snakemake (pid {parent}) is gone; this orphaned job stops"
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _install_handlers() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # `nohup snakemake …` ignores SIGHUP: keep it so
            signal.signal(sig, _on_signal)
    threading.Thread(target=_watch_parent, args=(_PARENT,), daemon=True).start()


def startup_seconds(pid: int) -> float | None:
    """Seconds since process ``pid`` started (Linux /proc): for the job process, at the end of
    its imports, the job's start-up (interpreter, Snakemake's preamble, torch and advreg)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:  # seconds since boot, 10 ms resolution (btime: whole seconds)
            now = float(f.read().split()[0])
        return max(0.0, now - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mb(ru=None) -> float:
    """This process's peak resident memory (MB): VmHWM of /proc/self/status, which starts afresh at
    exec. getrusage's ru_maxrss does not: Linux keeps the forking parent's high-water mark across
    exec, so a job forked by a large Snakemake process would report Snakemake's memory."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        import resource
        return (ru or resource.getrusage(resource.RUSAGE_SELF)).ru_maxrss / 1024


def resources_line(wall: float) -> str:
    """The job's last log line: what it needed (the rehearsal reads these to size `resources:`).
    Peak RSS is this process's; the GPU peak is PyTorch's allocator peak, when the job used a GPU."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_SELF)
    text = (f"job resources: wall {wall:.1f} s, cpu {ru.ru_utime + ru.ru_stime:.1f} s, "
            f"peak RSS {peak_rss_mb(ru):.0f} MB")
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        text += f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MB"
    return text


def _load_extensions(snakemake, log) -> None:
    """Import the config's extensions (advreg.workflow.extensions) in this job's process, so the methods and
    attacks they register exist here as they did when Snakemake checked the config."""
    entries = (getattr(snakemake, "config", None) or {}).get("extensions")
    if entries:
        from advreg.workflow.extensions import load
        for f in load(entries):
            log(f"extension loaded: {f}")


def _opening(snakemake, log) -> None:
    wildcards = ", ".join(f"{k}={v}" for k, v in snakemake.wildcards.items())
    up = startup_seconds(os.getpid())
    start = f"started in {up:.2f} s" if up is not None else "start-up not measured"
    log(f"rule {snakemake.rule}" + (f" ({wildcards})" if wildcards else "") + f", pid {os.getpid()} ({start})")
    requested = getattr(snakemake.params, "device", None)
    if requested is not None:
        from advreg.base.progress import describe_device
        for line in describe_device(requested, int(getattr(snakemake.resources, "gpu", 0) or 0)):
            log(line)


@contextlib.contextmanager
def logged(snakemake):
    _install_handlers()
    path = snakemake.log[0] if snakemake.log else None
    if path is None:
        _load_extensions(snakemake, print)
        yield print
        return

    def log(*a):
        text = " ".join(map(str, a))
        stamp = _stamp()
        print("\n".join(f"[{stamp}] {line}" for line in text.splitlines() or [""]), flush=True)

    with open(path, "w", buffering=1) as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        try:
            t0 = time.perf_counter()
            _opening(snakemake, log)
            _load_extensions(snakemake, log)
            yield log
            log(resources_line(time.perf_counter() - t0))
        except Killed as e:
            print(f"KILLED at {_stamp()}: {e}. Outputs of this job are "
                  f"incomplete; a training job keeps its last epoch checkpoint and resumes from it.",
                  flush=True)
            raise SystemExit(143) from None
        except BaseException:
            traceback.print_exc()  # into the rule's log, not only the console
            raise
        sys.stdout.flush()
