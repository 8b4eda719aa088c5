"""Warm start: one interpreter that has imported torch and advreg forks each local job.

Why: every job of the pipeline is a fresh Python that imports torch and advreg first, 1.5-2.5 s on a
2-core CPU. The quick preset runs 125 jobs, most of them a few seconds of work, so start-up was a
quarter of its job-seconds. Forking a process that has already imported them costs milliseconds.

How (the zygote of Android and of multiprocessing's forkserver, across processes):
- ``serve``: started by the Snakefile for a local run (``onstart``, config ``warm_start``), imports
  the modules, then listens on a Unix socket. It does no torch computation (no thread pools, no
  CUDA context), so a fork of it is safe.
- A job's script imports ``_log`` first; ``_log`` calls ``hand_over``. The client sends its argv,
  working directory, environment and its stdin/stdout/stderr (SCM_RIGHTS); the server forks a
  child that takes them over and runs the same file as ``__main__``; the client relays SIGTERM,
  SIGINT and SIGHUP to the child and exits with the child's status. To Snakemake the job is the
  client process, as before (logs, exit status, cancellation).
- The child's ``_log`` watches the client instead of its own parent: a job whose Snakemake dies
  still stops (docs/running.md "Recovering a killed run").
- Anything unusual runs the job cold, as before: no server, a refused connection, a request from a
  process that is not a descendant of the Snakemake that started the server (a SLURM job on the
  same host), or a preloaded module file changed since the server imported it.
"""
from __future__ import annotations

import array
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time

ENV_SOCKET = "ADVREG_WARM_SOCKET"   # set by the Snakefile for its local jobs
ENV_CLIENT = "ADVREG_WARM_CLIENT"   # set in a warm child: the pid of the client it serves
_MSG = struct.Struct("!I")
WATCH_SECONDS = 1.0  # how often a waiting client checks that Snakemake is still there


def _send(sock: socket.socket, obj, fds: list[int] | None = None) -> None:
    data = json.dumps(obj).encode()
    payload = _MSG.pack(len(data)) + data
    if fds:
        sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(payload)


def _recv(sock: socket.socket, with_fds: int = 0):
    fds = array.array("i")
    head, anc, _, _ = sock.recvmsg(_MSG.size, socket.CMSG_SPACE(with_fds * fds.itemsize) if with_fds else 0)
    if len(head) < _MSG.size:
        return None, []
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    n = _MSG.unpack(head)[0]
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None, list(fds)
        buf += chunk
    return json.loads(buf), list(fds)


# ----------------------------------------------------------------------------------- client side

def hand_over(path: str) -> int | None:
    """Run this process's script in a warm child; its exit status, or None to run cold."""
    if os.environ.get(ENV_CLIENT) or not path or not os.path.exists(path):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        env = {**os.environ, ENV_CLIENT: str(os.getpid())}
        _send(sock, {"argv": sys.argv, "cwd": os.getcwd(), "env": env, "pid": os.getpid()}, [0, 1, 2])
        reply, _ = _recv(sock)
    except OSError:
        sock.close()
        return None
    if not reply or "child" not in reply:
        sock.close()
        return None
    child = reply["child"]

    def relay(signum, frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # `nohup`'s ignored SIGHUP stays ignored
            signal.signal(sig, relay)
    parent = os.getppid()
    sock.settimeout(WATCH_SECONDS)
    status = None
    while True:
        try:
            status, _ = _recv(sock)
            break
        except socket.timeout:
            if parent_gone(parent):
                # Snakemake is gone (SIGKILL): end here, so the job sees its client gone and stops
                # (scripts/_log.py), as a cold job that loses its parent does
                sock.close()
                os._exit(1)
        except OSError:
            break
    sock.close()
    if (not status or "exit" not in status) and parent_gone(parent):
        os._exit(1)  # the server went down with Snakemake: end as above, the job stops on its own
    if not status or "exit" not in status:
        # the server is gone (killed): stop the job rather than leave it running unwatched
        print(f"warm start: lost the server while job pid {child} ran; stopping it", file=sys.stderr)
        relay(signal.SIGTERM, None)
        for _ in range(200):
            if not is_alive(child):
                break
            time.sleep(0.05)
        return 1
    return int(status["exit"])


# ----------------------------------------------------------------------------------- server side

def _is_descendant(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def _module_files() -> dict[str, int]:
    out = {}
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None)
        if f and ("advreg" in f.split(os.sep) or os.sep + "scripts" + os.sep in f):
            try:
                out[f] = os.stat(f).st_mtime_ns
            except OSError:
                pass
    return out


def _changed(files: dict[str, int]) -> bool:
    for f, mtime in files.items():
        try:
            if os.stat(f).st_mtime_ns != mtime:
                return True
        except OSError:
            return True
    return False


def _run_child(request: dict, fds: list[int]) -> None:
    """In the forked child: become the client's job and never return."""
    code = 1
    try:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.setsid()  # its own session: a signal to the server's group does not reach the job
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        # as `python FILE` would: the file's folder first, then the client's PYTHONPATH
        extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:0] = [os.path.dirname(os.path.abspath(sys.argv[0])), *extra]
        import runpy
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - the job's traceback goes to its stderr, as when cold
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(path: str, owner: int, modules: list[str]) -> None:
    """Import ``modules``, then fork one child per request until ``owner`` (Snakemake) is gone."""
    import importlib

    def _stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    for m in modules:
        importlib.import_module(m)
    files = _module_files()
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen(64)
    server.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    waiting: dict[int, socket.socket] = {}  # child pid -> its client's connection
    print(f"warm start: pid {os.getpid()} serving {path} with {len(modules)} modules imported",
          flush=True)
    try:
        while True:
            for _ in sel.select(timeout=0.05):
                conn, _ = server.accept()
                conn.settimeout(10)  # a client that connects and sends nothing cannot stall the server
                try:
                    request, fds = _recv(conn, with_fds=3)
                    peer = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                               struct.calcsize("3i")))[0]
                except OSError:
                    conn.close()
                    continue
                if (not request or len(fds) != 3 or peer != request.get("pid")
                        or not _is_descendant(peer, owner) or _changed(files)):
                    for fd in fds:
                        os.close(fd)
                    _send(conn, {"refused": True})
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    server.close()
                    conn.close()
                    _run_child(request, fds)
                for fd in fds:
                    os.close(fd)
                try:
                    _send(conn, {"child": pid})
                except OSError:
                    pass  # the client is gone: its job notices and stops (scripts/_log.py)
                waiting[pid] = conn
            for pid in list(waiting):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    conn = waiting.pop(pid)
                    try:
                        code = os.waitstatus_to_exitcode(status)
                        # killed by signal N: 128 + N, as a shell reports a cold job's death
                        _send(conn, {"exit": 128 - code if code < 0 else code})
                    except OSError:
                        pass
                    conn.close()
            if not is_alive(owner):
                break
    finally:
        server.close()
        if os.path.exists(path):
            os.unlink(path)


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` is running (one we may not signal counts as alive). A zombie is not:
    a client whose Snakemake was killed exits and may stay unreaped when PID 1 does not reap."""
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
    is not enough: a SIGKILLed multi-threaded Snakemake shows as a zombie (what the server's owner
    check sees) while its other threads still exit, and only after them is this process reparented."""
    return os.getppid() != parent or not is_alive(parent)


def start(path: str, modules: list[str], log_path: str) -> int:
    """Start a server for this process (the Snakemake that runs the jobs); its pid. Returns once
    the socket is up (or after 60 s: jobs then run cold until it is)."""
    import subprocess

    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    with open(log_path, "a") as log:
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", path,
                                 str(os.getpid()), *modules], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    while time.time() - t0 < 60 and proc.poll() is None and not os.path.exists(path):
        time.sleep(0.05)
    return proc.pid


def stop(pid: int | None) -> None:
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    else:
        raise SystemExit("usage: _warm.py serve SOCKET OWNER_PID MODULE...")
