"""``s360-mock serve --workers N``: N server processes sharing one port and one
state file, so the simulator uses every core (Python runs one core per process).

The supervisor loads the dataset into the state file once, reserves the port
(SO_REUSEPORT), starts N worker processes that open that state and listen on
the same port (the kernel spreads connections over them), prints the banner,
and stops them all on Ctrl-C / SIGTERM or when one dies. With the default
in-memory state, a temporary state file is used (fresh at each start, removed
at exit): processes cannot share memory.

Everything that must be shared lives in the state file already: the data, the
virtual clock, rate-limit counters, fault rules, the journal (see
docs/control-plane.md, "several worker processes").
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

WORKER_FLAG = "--worker-process"
# serve flags the supervisor decides for its workers.
_OWN = {"--workers", "--port", "--state", "--reset-state", "--host"}


def die_with_parent() -> None:
    """In a worker: the kernel sends it SIGTERM if the supervisor dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker_argv(argv: list[str], host: str, port: int, state: str) -> list[str]:
    """The worker's command line: the user's serve flags, with host, port and state fixed."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in _OWN:
            takes_value = "=" not in arg and name != "--reset-state"
            skip = takes_value and i + 1 < len(argv)
            continue
        out.append(arg)
    return [*out, "--host", host, "--port", str(port), "--state", state, WORKER_FLAG]


def supervise(args: Any, serve_argv: list[str], prepare: Any, banner: Any) -> int:
    """Run ``args.workers`` worker processes. ``prepare(state_url, reset)`` loads the
    state once (returns an exit code or None); ``banner(base_url)`` prints the banner."""
    tmpdir = None
    state = args.state
    reset = args.reset_state
    if state in ("sqlite://", "sqlite:///:memory:"):
        tmpdir = tempfile.mkdtemp(prefix="s360-mock-")
        state = f"sqlite:///{tmpdir}/state.db"
        reset = True
    reserve = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    procs: list[subprocess.Popen[str]] = []
    try:
        failed = prepare(state, reset)
        if failed is not None:
            return int(failed)
        reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            reserve.bind((args.host, args.port))  # bound, never listening: holds the port
        except OSError as error:
            print(f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
            return 2
        host, port = reserve.getsockname()[:2]
        argv = worker_argv(serve_argv, host, port, state)
        for _ in range(args.workers):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "mock_server.cli", *argv],
                    stdout=subprocess.PIPE,
                    text=True,
                    preexec_fn=die_with_parent,
                )
            )
        for proc in procs:  # each worker prints one line when it listens
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("worker ready"):
                print("error: a worker process failed to start", file=sys.stderr)
                return 2
        url_host = f"[{host}]" if ":" in host else host
        banner(f"http://{url_host}:{port}", state, tmpdir is not None)
        stop = {"now": False}

        def on_signal(_sig: int, _frame: Any) -> None:
            stop["now"] = True

        signal.signal(signal.SIGTERM, on_signal)
        try:
            while not stop["now"] and all(p.poll() is None for p in procs):
                time.sleep(0.2)  # supervising child processes: a real wait, not test time
        except KeyboardInterrupt:
            pass
        dead = [p for p in procs if p.poll() is not None]
        return 1 if dead and not stop["now"] else 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        reserve.close()
        if tmpdir:
            with contextlib.suppress(OSError):
                shutil.rmtree(tmpdir)
