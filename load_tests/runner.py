"""``s360-mock load``: a headless locust run against a simulator, thresholds, then the audit.

    s360-mock load --users 200 --duration 2m
    s360-mock load --processes 2                      # locust master + 2 workers here
    s360-mock load --host http://127.0.0.1:8360       # a simulator that already runs

Without ``--host`` it starts ``s360-mock serve`` as a subprocess on a free loopback
port (rate limits ``off`` unless ``--rate-limits`` says otherwise), runs locust as a
subprocess (``load_tests/locustfile.py``; locust's gevent must never be imported in
this process or the simulator's), prints a progress line every few seconds, then a
per-operation table; writes the CSV and JSON statistics, the HTML report and
``summary.json`` into ``reports/load-<timestamp>/``; applies the thresholds; and
asks the simulator's control plane for its invariants audit (``GET /_mock/audit``).

Exit status: 0 all good; 1 a threshold exceeded, an audit violation, or no
statistics; 2 a usage or start-up error; 130 interrupted (the report is still written).
See docs/load-testing.md.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from load_tests.config import USER_CLASSES, ConfigError, load_config
from mock_server.workers import die_with_parent as _die_with_parent

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "locustfile.py"
#: ``--rate-limits load``: every call checked and counted, none refused (ratelimits-load.json).
LOAD_PROFILE = HERE / "ratelimits-load.json"

#: Thresholds applied when no flag overrides them (docs/load-testing.md).
DEFAULT_MAX_FAILURE_RATIO = 0.01
DEFAULT_MIN_RPS = 1.0
DEFAULT_P95_MS: dict[str, float] = {
    "*": 1000,
    "CatalogService.getCatalogDetailed": 3000,
    "AvailabilityService.getSeatsAvailability": 3000,
}

#: What locust logs when a process of its own ran out of CPU (local runner, or master about a worker).
CPU_WARNINGS = ("CPU usage above", "CPU usage was too high", "exceeded cpu threshold")

START_TIMEOUT = 60.0  # seconds for the simulator to answer, or for workers to connect
STOP_GRACE = 45.0  # seconds past the run time before locust is stopped by force


class UsageError(Exception):
    pass


# -- command line -------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    run = parser.add_argument_group("run")
    run.add_argument("-u", "--users", type=int, default=50, help="concurrent users (default 50)")
    run.add_argument(
        "-r",
        "--spawn-rate",
        type=float,
        default=None,
        help="users started per second (default: all within ~5 s, at least 10/s)",
    )
    run.add_argument(
        "-t", "--duration", default="60s", help="run time: 30s, 2m, 1h30m (default 60s)"
    )
    run.add_argument(
        "--host",
        metavar="URL",
        help="run against this simulator (default: start one on a free 127.0.0.1 port)",
    )
    run.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not a loopback address (never needed for a local run)",
    )
    run.add_argument(
        "--stop-timeout",
        type=float,
        default=2.0,
        help="seconds a user may finish its current task at the end (default 2)",
    )
    run.add_argument(
        "--rate-limits",
        default=None,
        metavar="off|load|s360|FILE",
        help="rate-limit policies of the simulator under test (default off: measure the "
        "simulator; load: checked and counted, never refused; s360: the platform's). "
        "With --host: applied through /_mock/rate-limits for the run, then restored",
    )
    dist = parser.add_argument_group("distributed")
    dist.add_argument(
        "--processes",
        type=int,
        default=0,
        metavar="N",
        help="locust master + N worker processes on this machine (default 0: one process)",
    )
    dist.add_argument(
        "--remote-workers",
        type=int,
        default=0,
        metavar="N",
        help="also wait for N workers started on other hosts (see docs/load-testing.md)",
    )
    dist.add_argument(
        "--master-bind-host",
        default="127.0.0.1",
        metavar="IP",
        help="interface the locust master listens on for workers (default 127.0.0.1)",
    )
    dist.add_argument(
        "--master-port",
        type=int,
        default=0,
        help="port of the locust master (default: a free port; 5557 with --remote-workers)",
    )
    sim = parser.add_argument_group("simulator (when no --host)")
    sim.add_argument("--dataset", metavar="FILE", help="dataset JSON (default: the default one)")
    sim.add_argument("--seed", type=int, help="serve a generated dataset with this seed")
    sim.add_argument("--size", choices=["small", "medium", "large"], default="small")
    sim.add_argument(
        "--server-threads", type=int, default=16, help="simulator worker threads (default 16)"
    )
    sim.add_argument(
        "--journal-max", type=int, default=None, metavar="N", help="simulator journal bound"
    )
    sim.add_argument(
        "--admin-token", default=None, metavar="TOKEN", help="bearer token of a --host's /_mock"
    )
    users = parser.add_argument_group("traffic (load_tests/config.py)")
    users.add_argument(
        "--user-classes",
        nargs="+",
        metavar="KIND",
        help=f"only these kinds: {', '.join(USER_CLASSES)} (or their class names)",
    )
    users.add_argument("--weights", metavar="KIND=N,...", help="e.g. buyer=6,availability=2")
    users.add_argument("--wait", metavar="KIND=MIN-MAX,...", help="think time, e.g. buyer=0-0.5")
    users.add_argument("--partners", metavar="LOGIN:PASSWORD,...", help="partner logins")
    users.add_argument(
        "--on-429",
        choices=["fail", "ignore"],
        help="a rate-limited call is a failure (default) or ignored",
    )
    users.add_argument("--config", metavar="FILE", help="a JSON load profile (S360_LOAD_CONFIG)")
    users.add_argument("--users-seed", type=int, help="seed of the users' random choices")
    th = parser.add_argument_group("thresholds")
    th.add_argument(
        "--max-failure-ratio",
        type=float,
        default=DEFAULT_MAX_FAILURE_RATIO,
        help=f"failed / all requests (default {DEFAULT_MAX_FAILURE_RATIO})",
    )
    th.add_argument(
        "--p95",
        action="append",
        default=[],
        metavar="OP=MS",
        help="95th percentile limit of an operation (Service.operation, operation or *); "
        "repeatable; defaults: " + ", ".join(f"{k}={v:g}" for k, v in DEFAULT_P95_MS.items()),
    )
    th.add_argument(
        "--min-rps",
        type=float,
        default=DEFAULT_MIN_RPS,
        help=f"minimum requests per second over the run (default {DEFAULT_MIN_RPS:g})",
    )
    th.add_argument("--no-thresholds", action="store_true", help="report only, never fail on them")
    th.add_argument("--no-audit", action="store_true", help="skip the invariants audit")
    out = parser.add_argument_group("output")
    out.add_argument(
        "--report-dir",
        default="reports",
        metavar="DIR",
        help="reports go to DIR/load-<timestamp>/ (default reports)",
    )
    out.add_argument(
        "-v",
        "--verbose",
        dest="locust_verbose",
        action="store_true",
        help="show locust's own log while it runs",
    )
    out.add_argument(
        "--locust-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for locust (repeatable), e.g. --locust-arg=--csv-full-history",
    )


def parse_duration(text: str) -> float:
    """Seconds of a locust run time: ``90``, ``30s``, ``2m``, ``1h30m``."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    parts = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", value)
    if not value or parts is None or not any(parts.groups()):
        raise UsageError(f"duration {text!r}: use e.g. 30s, 2m, 1h30m")
    hours, minutes, seconds = (int(g) if g else 0 for g in parts.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# -- thresholds -------------------------------------------------------------------------------
@dataclass
class Thresholds:
    max_failure_ratio: float | None = DEFAULT_MAX_FAILURE_RATIO
    min_rps: float | None = DEFAULT_MIN_RPS
    p95_ms: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_P95_MS))

    def p95_for(self, operation: str) -> float | None:
        short = operation.rsplit(".", 1)[-1]
        for key in (operation, short, "*"):
            if key in self.p95_ms:
                return self.p95_ms[key]
        return None


def parse_p95(items: Iterable[str]) -> dict[str, float]:
    limits = dict(DEFAULT_P95_MS)
    for item in items:
        op, sep, value = item.partition("=")
        try:
            if not sep or not op.strip():
                raise ValueError
            limits[op.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--p95 {item!r}: OP=MS expected, e.g. closeOrder=500") from None
    return limits


@dataclass
class Check:
    name: str
    limit: float
    actual: float
    ok: bool

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"  {mark} {self.name}: {self.actual:g} (limit {self.limit:g})"


# -- statistics ------------------------------------------------------------------------------
@dataclass
class OpStats:
    name: str
    requests: int
    failures: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    avg_ms: float
    max_ms: float
    rps: float

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def percentile(response_times: dict[int, int], count: int, percent: float) -> float:
    """locust's own percentile of a {rounded ms: count} histogram."""
    if not count:
        return 0.0
    wanted = int(count * percent)
    seen = 0
    for ms in sorted(response_times, reverse=True):
        seen += response_times[ms]
        if count - seen <= wanted:
            return float(ms)
    return 0.0


def _op_stats(name: str, entries: Sequence[dict[str, Any]], duration: float) -> OpStats:
    times: dict[int, int] = {}
    requests = failures = 0
    total_time = 0.0
    max_ms = 0.0
    for e in entries:
        requests += int(e["num_requests"])
        failures += int(e["num_failures"])
        total_time += float(e["total_response_time"])
        max_ms = max(max_ms, float(e["max_response_time"] or 0))
        for ms, n in (e.get("response_times") or {}).items():
            times[int(ms)] = times.get(int(ms), 0) + int(n)
    counted = sum(times.values())

    def pct(percent: float) -> float:  # histogram buckets are rounded: never above the max
        return min(percentile(times, counted, percent), round(max_ms))

    return OpStats(
        name=name,
        requests=requests,
        failures=failures,
        median_ms=pct(0.5),
        p95_ms=pct(0.95),
        p99_ms=pct(0.99),
        avg_ms=round(total_time / requests, 3) if requests else 0.0,
        max_ms=round(max_ms, 3),
        rps=round(requests / duration, 3) if duration > 0 else 0.0,
    )


def read_stats(path: Path) -> tuple[list[OpStats], OpStats, float]:
    """Per-operation statistics and their total from locust's ``--json-file``
    (written at shutdown: the final numbers, unlike the CSV's last periodic write)."""
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    starts = [float(e["start_time"]) for e in entries if e.get("start_time")]
    ends = [float(e["last_request_timestamp"]) for e in entries if e.get("last_request_timestamp")]
    duration = (max(ends) - min(starts)) if starts and ends else 0.0
    by_name: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_name.setdefault(e["name"], []).append(e)
    ops = [_op_stats(name, group, duration) for name, group in sorted(by_name.items())]
    return ops, _op_stats("Total", entries, duration), duration


def evaluate(ops: list[OpStats], total: OpStats, thresholds: Thresholds) -> list[Check]:
    checks = []
    if thresholds.max_failure_ratio is not None:
        ratio = round(total.failure_ratio, 6)
        checks.append(
            Check(
                "failure ratio",
                thresholds.max_failure_ratio,
                ratio,
                ratio <= thresholds.max_failure_ratio,
            )
        )
    if thresholds.min_rps is not None:
        rps = round(total.rps, 2)
        checks.append(Check("requests/s", thresholds.min_rps, rps, rps >= thresholds.min_rps))
    for op in ops:
        limit = thresholds.p95_for(op.name)
        if limit is not None and op.requests:
            checks.append(Check(f"p95 ms {op.name}", limit, op.p95_ms, op.p95_ms <= limit))
    return checks


def format_table(ops: list[OpStats], total: OpStats) -> str:
    width = max([len(o.name) for o in ops] + [len("Operation")])
    head = (
        f"{'Operation':<{width}} {'requests':>9} {'failures':>9} {'median':>7} {'p95':>7}"
        f" {'p99':>7} {'max':>7} {'req/s':>8}"
    )
    lines = [head, "-" * len(head)]
    for o in [*ops, total]:
        if o is total:
            lines.append("-" * len(head))
        lines.append(
            f"{o.name:<{width}} {o.requests:>9} {o.failures:>9} {o.median_ms:>7.0f}"
            f" {o.p95_ms:>7.0f} {o.p99_ms:>7.0f} {o.max_ms:>7.0f} {o.rps:>8.1f}"
        )
    lines.append("(times in ms; req/s over the whole run)")
    return "\n".join(lines)


_WRAPPED = re.compile(r"^\w+\((['\"])(.*)\1\)$")


def _unwrap(error: str) -> str:
    """``CatchResponseError('HTTP 429 rate limited')`` -> ``HTTP 429 rate limited``."""
    match = _WRAPPED.match(error)
    return match.group(2) if match else error


def top_failures(counters: dict[str, Any], csv_path: Path, limit: int = 10) -> list[dict[str, Any]]:
    """The most frequent failures ``{name, error, occurrences}``: the final list the
    locustfile wrote, else locust's ``_failures.csv`` (written once a second)."""
    rows: list[dict[str, Any]] = list(counters.get("failures") or [])
    if not rows and csv_path.exists():
        with csv_path.open(encoding="utf-8", newline="") as handle:
            rows = [
                {"name": r["Name"], "error": r["Error"], "occurrences": int(r["Occurrences"])}
                for r in csv.DictReader(handle)
            ]
    for row in rows:
        row["error"] = _unwrap(str(row["error"]))
    rows.sort(key=lambda r: -int(r["occurrences"]))
    return rows[:limit]


PROGRESS_PREFIX = "s360-progress "  # lines the locustfile prints (S360_LOAD_PROGRESS)


class Progress:
    """Echo the locustfile's progress lines (and, verbose, every line) from the logs."""

    def __init__(self, children: list[Child], verbose: bool) -> None:
        self.offsets = {c.name: 0 for c in children}
        self.children = children
        self.verbose = verbose

    def pump(self) -> None:
        for child in self.children:
            try:
                with child.log_path.open("rb") as handle:
                    handle.seek(self.offsets[child.name])
                    data = handle.read()
            except OSError:
                continue
            cut = data.rfind(b"\n") + 1
            self.offsets[child.name] += cut
            for line in data[:cut].decode("utf-8", "replace").splitlines():
                if line.startswith(PROGRESS_PREFIX):
                    print("  " + line[len(PROGRESS_PREFIX) :], flush=True)
                elif self.verbose:
                    print(f"  {child.name}| {line}", flush=True)


# -- processes --------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a running process, from ``/proc/PID/stat``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return (int(fields[11]) + int(fields[12])) / ticks


class Child:
    """A subprocess in its own session, its output in a log file (and echoed if asked).

    Its own session, so that Ctrl-C reaches the runner only and the runner stops the
    children in order (locust first, then the simulator after the audit); tied to the
    runner's life so that nothing outlives a runner that was killed."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.name = name
        self.cpu: float | None = None
        self.log_path = log
        self._log: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def sample_cpu(self) -> None:
        """Remember the CPU time used so far (Linux ``/proc``; nothing elsewhere)."""
        seconds = cpu_seconds(self.process.pid)
        if seconds is not None:
            self.cpu = seconds

    def stop(self, sig: int = signal.SIGTERM, wait: float = 15.0) -> int | None:
        if self.alive():
            try:
                self.process.send_signal(sig)
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        return self.process.returncode

    def tail(self, lines: int = 25) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _python_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _rate_limit_argument(value: str | None) -> str:
    if value in (None, "off"):
        return "off"
    if value == "load":
        return str(LOAD_PROFILE)
    return str(value)


def start_simulator(args: argparse.Namespace, run_dir: Path) -> tuple[Child, str]:
    port = free_port()
    argv = [
        sys.executable, "-m", "mock_server.cli", "serve",
        "--host", "127.0.0.1", "--port", str(port),
        "--rate-limits", _rate_limit_argument(args.rate_limits),
        "--threads", str(args.server_threads),
    ]  # fmt: skip
    if args.dataset:
        argv += ["--dataset", args.dataset]
    if args.seed is not None:
        argv += ["--seed", str(args.seed), "--size", args.size]
    if args.journal_max is not None:
        argv += ["--journal-max", str(args.journal_max)]
    child = Child("simulator", argv, run_dir / "simulator.log", _python_env({}))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    import requests  # here, not at import time: `s360-mock --help` stays fast

    while time.monotonic() < deadline:
        if not child.alive():
            raise UsageError(f"the simulator did not start:\n{child.tail()}")
        try:
            if requests.get(base + "/_mock/health", timeout=2).ok:
                return child, base
        except requests.RequestException:
            pass
        time.sleep(0.2)  # real wait: polling a child process until it listens
    child.stop()
    raise UsageError(f"the simulator did not answer within {START_TIMEOUT:.0f}s:\n{child.tail()}")


def _admin(base: str, token: str | None) -> tuple[Any, str]:
    """An AdminClient when ``base`` has a control plane; else None and why not."""
    import requests

    from mock_server.admin_client import AdminClient

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = requests.get(base.rstrip("/") + "/_mock/health", headers=headers, timeout=10)
    except requests.RequestException as error:
        return None, f"no answer from {base}/_mock/health: {error}"
    if response.status_code in (401, 403):
        return None, f"{base}/_mock answered HTTP {response.status_code}: give --admin-token"
    if not response.ok:
        return None, f"{base} has no s360-mock control plane (HTTP {response.status_code})"
    return AdminClient(base, token=token), ""


def locust_commands(
    args: argparse.Namespace,
    host: str,
    run_dir: Path,
    classes: list[str],
    spawn_rate: float,
    master_port: int,
) -> tuple[list[str], list[list[str]]]:
    """The argv of the (single or master) locust process, and of each local worker."""
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--loglevel", "INFO"]
    main = [
        *base,
        "--headless",
        "--users", str(args.users),
        "--spawn-rate", f"{spawn_rate:g}",
        "--run-time", args.duration,
        "--host", host,
        "--csv", str(run_dir / "locust"),
        "--html", str(run_dir / "report.html"),
        "--json-file", str(run_dir / "locust_stats"),
        "--only-summary",
        "--exit-code-on-error", "0",
        "--stop-timeout", f"{args.stop_timeout:g}",
    ]  # fmt: skip
    workers: list[list[str]] = []
    expected = args.processes + args.remote_workers
    if expected:
        main += [
            "--master",
            "--expect-workers", str(expected),
            "--expect-workers-max-wait", f"{START_TIMEOUT:.0f}",
            "--master-bind-host", args.master_bind_host,
            "--master-bind-port", str(master_port),
        ]  # fmt: skip
        worker = [
            *base,
            "--worker",
            "--master-host", "127.0.0.1",
            "--master-port", str(master_port),
            "--host", host,
        ]  # fmt: skip
        workers = [list(worker) for _ in range(args.processes)]
    main += [*args.locust_arg, *classes]
    return main, workers


# -- the run ------------------------------------------------------------------------------------
def traffic_env(args: argparse.Namespace, run_dir: Path, duration: float) -> dict[str, str]:
    """The environment variables that carry the traffic flags to every locust process."""
    env = {
        "S360_LOAD_OUTPUT": str(run_dir / "counters.json"),
        "S360_LOAD_PROGRESS": f"{progress_interval(duration):g}",
    }
    for flag, var in (
        ("config", "S360_LOAD_CONFIG"),
        ("partners", "S360_LOAD_PARTNERS"),
        ("weights", "S360_LOAD_WEIGHTS"),
        ("wait", "S360_LOAD_WAIT"),
        ("on_429", "S360_LOAD_ON_429"),
        ("users_seed", "S360_LOAD_SEED"),
    ):
        value = getattr(args, flag)
        if value is not None:
            env[var] = str(Path(value).resolve()) if flag == "config" else str(value)
    return env


def user_classes(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    """The locust User classes to run; refuses a bad load profile before anything starts."""
    enabled = load_config({**os.environ, **env}).user_classes()
    if not args.user_classes:
        return enabled
    chosen = []
    for name in args.user_classes:
        for short, cls in USER_CLASSES.items():
            if name in (short, cls):
                chosen.append(cls)
                break
        else:
            raise UsageError(f"--user-classes {name}: one of {', '.join(USER_CLASSES)}")
    zero = [c for c in chosen if c not in enabled]
    if zero:
        raise UsageError(f"--user-classes {', '.join(zero)}: weight 0 in the load profile")
    return chosen


def _run_dir(root: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root).resolve() / f"load-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _validate(args: argparse.Namespace) -> float:
    if args.users < 1:
        raise UsageError("--users: at least 1")
    if args.processes < 0 or args.remote_workers < 0:
        raise UsageError("--processes and --remote-workers: 0 or more")
    if args.host and not args.allow_remote and not is_loopback_url(args.host):
        raise UsageError(
            f"--host {args.host}: not a loopback address; load traffic goes to 127.0.0.1 "
            "unless --allow-remote says otherwise"
        )
    if args.host and (args.dataset or args.seed is not None):
        raise UsageError("--dataset/--seed start a simulator: not with --host")
    if args.remote_workers and ipaddress.ip_address(args.master_bind_host).is_loopback:
        raise UsageError(
            "--remote-workers: give --master-bind-host, an address the other hosts reach"
        )
    if args.remote_workers and not args.host:
        raise UsageError(
            "--remote-workers: give --host, a simulator the other hosts reach (the one this "
            "command would start listens on 127.0.0.1 only)"
        )
    if (
        args.rate_limits not in (None, "off", "load", "s360")
        and not Path(args.rate_limits).is_file()
    ):
        raise UsageError(f"--rate-limits {args.rate_limits}: off, load, s360 or a policy file")
    return parse_duration(args.duration)


class LoadRun:
    """One ``s360-mock load`` invocation: its processes, its report directory, its verdict."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.duration = _validate(args)
        self.thresholds = Thresholds(
            max_failure_ratio=args.max_failure_ratio,
            min_rps=args.min_rps,
            p95_ms=parse_p95(args.p95),
        )
        self.run_dir = _run_dir(args.report_dir)
        self.env = traffic_env(args, self.run_dir, self.duration)
        self.classes = user_classes(args, self.env)
        self.spawn_rate = args.spawn_rate or float(min(args.users, max(10, args.users / 5)))
        self.host = (args.host or "").rstrip("/")
        self.children: list[Child] = []
        self.simulator: Child | None = None
        self.admin: Any = None
        self.restore_limits: dict[str, Any] | None = None
        self.summary: dict[str, Any] = {"reportDir": str(self.run_dir)}

    # -- phases --------------------------------------------------------------------------------
    def execute(self) -> int:
        self.run_dir.mkdir(parents=True)
        interrupted = False
        try:
            self._prepare_target()
            self._start_locust()
            interrupted = _watch(
                self.children[0], self.children, self.duration, self.args.locust_verbose
            )
        except UsageError as error:
            print(f"error: {error}", file=sys.stderr)
            self._stop_locust()
            self._finish()
            return 2
        except KeyboardInterrupt:
            interrupted = True
        self._stop_locust()
        self.summary["interrupted"] = interrupted
        try:
            status = self._report()
        finally:
            self._finish()
        return 130 if interrupted else status

    def _prepare_target(self) -> None:
        args = self.args
        if self.host:
            self.admin, why = _admin(self.host, args.admin_token)
            if args.rate_limits is not None:
                if self.admin is None:
                    raise UsageError(f"--rate-limits with --host needs its control plane: {why}")
                self.restore_limits = _apply_rate_limits(self.admin, args.rate_limits)
        else:
            self.simulator, self.host = start_simulator(args, self.run_dir)
            self.admin, _ = _admin(self.host, None)

    def _start_locust(self) -> None:
        args = self.args
        master_port = args.master_port or (5557 if args.remote_workers else free_port())
        main_argv, worker_argvs = locust_commands(
            args, self.host, self.run_dir, self.classes, self.spawn_rate, master_port
        )
        if args.processes or args.remote_workers:
            nodes = f"locust master + {args.processes} worker(s)" + (
                f" + {args.remote_workers} remote" if args.remote_workers else ""
            )
        else:
            nodes = "1 locust process"
        started = " (started here)" if self.simulator else ""
        print(
            f"s360-mock load: {args.users} users (spawn {self.spawn_rate:g}/s) for"
            f" {args.duration} against {self.host}{started},"
            f" rate limits {_describe_limits(self.admin, args.rate_limits)}, {nodes}\n"
            f"  user classes: {', '.join(self.classes)}\n  reports: {self.run_dir}/",
            flush=True,
        )
        env = _python_env(self.env)
        self.children.append(Child("locust", main_argv, self.run_dir / "locust.log", env))
        for i, argv in enumerate(worker_argvs, 1):
            log = self.run_dir / f"worker-{i}.log"
            self.children.append(Child(f"worker-{i}", argv, log, env))
        if args.remote_workers:
            print(
                f"  waiting for {args.remote_workers} remote worker(s): on each host run\n"
                f"    locust -f load_tests/locustfile.py --worker --master-host"
                f" {args.master_bind_host} --master-port {master_port}",
                flush=True,
            )

    def _stop_locust(self) -> None:
        """The master (or single process) first: SIGINT lets it write its reports."""
        for child in self.children:
            child.stop(signal.SIGINT)

    def _finish(self) -> None:
        if self.restore_limits is not None and self.admin is not None:
            _restore_rate_limits(self.admin, self.restore_limits)
        if self.admin is not None:
            self.admin.close()
        if self.simulator is not None:
            self.simulator.stop(signal.SIGINT)

    # -- the verdict ----------------------------------------------------------------------------
    def _report(self) -> int:
        args, run_dir, summary = self.args, self.run_dir, self.summary
        if self.simulator is not None:
            self.simulator.sample_cpu()  # before the audit adds its own work
        main = self.children[0] if self.children else None
        summary.update(
            {
                "host": self.host,
                "users": args.users,
                "spawnRate": self.spawn_rate,
                "duration": args.duration,
                "userClasses": self.classes,
                "rateLimits": args.rate_limits or ("off" if self.simulator else None),
                "processes": args.processes,
                "remoteWorkers": args.remote_workers,
                "locust": _version("locust"),
                "cpus": os.cpu_count(),
                "locustExitCode": main.process.returncode if main else None,
            }
        )
        counters = _read_json(run_dir / "counters.json")
        for error in counters.get("errors", []):
            print(f"error (locust users): {error}", file=sys.stderr)
        stats_path = run_dir / "locust_stats.json"
        if not stats_path.exists():
            tail = main.tail() if main else ""
            print(f"error: locust wrote no statistics ({stats_path})\n{tail}", file=sys.stderr)
            summary["ok"] = False
            summary["error"] = "no statistics"
            _write_summary(run_dir, summary)
            return 1
        status = 0
        ops, total, measured = read_stats(stats_path)
        print()
        print(format_table(ops, total))
        summary["measuredSeconds"] = round(measured, 3)
        summary["operations"] = [asdict(o) for o in ops]
        summary["total"] = asdict(total)
        summary["counters"] = counters.get("counters", {})
        summary["workers"] = counters.get("workers", {})
        summary["cpuSeconds"] = self._cpu_line(measured)
        if summary["counters"]:
            print("\noutcomes: " + ", ".join(f"{k} {v}" for k, v in summary["counters"].items()))
        if summary["workers"]:
            per = ", ".join(str(w["requests"]) for w in summary["workers"].values())
            print(f"workers: {len(summary['workers'])}, requests each: {per}")
        failures = top_failures(counters, run_dir / "locust_failures.csv")
        summary["failures"] = failures
        if failures:
            print("\nfailures (most frequent first):")
            for row in failures:
                print(f"  {row['occurrences']:>7}  {row['name']}: {row['error']}")
        if total.requests == 0:
            print("error: no request was made", file=sys.stderr)
            status = 1
        checks = [] if args.no_thresholds else evaluate(ops, total, self.thresholds)
        summary["thresholds"] = [asdict(c) for c in checks]
        failed = [c for c in checks if not c.ok]
        if checks:
            print(f"\nthresholds: {len(checks) - len(failed)}/{len(checks)} met")
            for c in failed or checks[:2]:
                print(c.line())
            status = 1 if failed else status
        summary["audit"] = audit = _audit(args, self.admin)
        if audit.get("skipped"):
            print(f"\naudit: skipped ({audit['skipped']})")
        elif audit.get("ok"):
            print(f"\naudit: ok ({len(audit.get('checks', []))} invariants hold)")
        else:
            status = 1
            violations = audit.get("violations", [])
            print(f"\naudit: {len(violations)} VIOLATION(S)" if violations else "\naudit: FAILED")
            for v in violations[:20]:
                print(f"  {v.get('invariant')}: {v.get('message')}")
            if audit.get("error"):
                print(f"  {audit['error']}")
        summary["ok"] = status == 0
        _write_summary(run_dir, summary)
        print(f"\nreport: {run_dir / 'report.html'}\nsummary: {run_dir / 'summary.json'}")
        verdict = "PASS" if status == 0 else "FAIL"
        print(
            f"result: {verdict}{' (interrupted)' if summary.get('interrupted') else ''}", flush=True
        )
        return status

    def _cpu_line(self, measured: float) -> dict[str, float]:
        """CPU seconds of each process, printed with the share of one core over the run."""
        used = {c.name: c.cpu for c in [*self.children, self.simulator] if c and c.cpu}
        if used and measured > 0:
            parts = [
                f"{name} {sec:.1f}s ({sec / measured:.2f} cores)" for name, sec in used.items()
            ]
            print(f"\nCPU over {measured:.0f}s: " + ", ".join(parts))
        log = self.children[0].log_path if self.children else None
        text = log.read_text(encoding="utf-8", errors="replace") if log else ""
        if any(sign in text for sign in CPU_WARNINGS):
            print(
                "warning: a locust process ran out of CPU: the numbers measure the load "
                "generator; use --processes N or fewer users"
            )
        return {name: round(sec, 2) for name, sec in used.items()}


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    try:
        load_run = LoadRun(args)
    except (UsageError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM: stop as Ctrl-C does
    try:
        return load_run.execute()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _apply_rate_limits(admin: Any, value: str) -> dict[str, Any]:
    current = admin.rate_limits()
    previous = {k: v for k, v in current.items() if k in ("httpStatus", "policies")}
    if value in ("off", "s360"):
        admin.set_rate_limits(value)
    else:
        path = LOAD_PROFILE if value == "load" else Path(value)
        admin.set_rate_limits(json.loads(path.read_text(encoding="utf-8")))
    return previous


def _restore_rate_limits(admin: Any, previous: dict[str, Any]) -> None:
    try:
        admin.set_rate_limits(previous)
    except Exception as error:  # report, do not mask the run's result
        print(f"warning: could not restore the rate limits: {error}", file=sys.stderr)


def _describe_limits(admin: Any, requested: str | None) -> str:
    label = requested or "off"
    if admin is None:
        return f"{label} (no control plane to confirm)"
    try:
        policies = admin.rate_limits().get("policies", [])
    except Exception:
        return label
    names = ", ".join(p.get("name", "?") for p in policies)
    return f"{label} ({len(policies)} policies{': ' + names if names else ''})"


def progress_interval(duration: float) -> float:
    return max(2.0, min(10.0, duration / 10))


def _watch(main: Child, children: list[Child], duration: float, verbose: bool) -> bool:
    """Wait for locust to finish, echoing its progress; False unless interrupted."""
    deadline = time.monotonic() + duration + START_TIMEOUT + STOP_GRACE
    progress = Progress(children, verbose)
    try:
        while main.alive():
            time.sleep(0.25)  # real wait: the load run is real time; progress is polled
            progress.pump()
            for child in children:
                child.sample_cpu()
            if time.monotonic() > deadline:
                print("error: locust overran its run time; stopping it", file=sys.stderr)
                break
            dead = [c for c in children[1:] if not c.alive() and c.process.returncode]
            if dead:
                print(f"error: {dead[0].name} exited early:\n{dead[0].tail()}", file=sys.stderr)
                break
        progress.pump()
        return False
    except KeyboardInterrupt:
        print("\ninterrupted: stopping locust, then reporting what was measured", flush=True)
        return True


def _audit(args: argparse.Namespace, admin: Any) -> dict[str, Any]:
    if args.no_audit:
        return {"skipped": "--no-audit"}
    if admin is None:
        return {"skipped": "no s360-mock control plane at the host"}
    try:
        result: dict[str, Any] = admin.audit()
        return result
    except Exception as error:
        return {"ok": False, "violations": [], "error": f"GET /_mock/audit failed: {error}"}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s360-mock load",
        description="Headless locust run of partner traffic, thresholds and the invariants audit",
    )
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
