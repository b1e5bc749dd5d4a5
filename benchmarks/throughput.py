"""Throughput (requests/s) and p50/p99 latency of the simulator's hot paths, each next to a
bare WSGI baseline served by the same server and hit by the same load generator.

    .venv/bin/python benchmarks/throughput.py [--duration 10] [--processes 2] [--clients 4]

Scenarios, each simulator a ``s360-mock serve --rate-limits off`` subprocess:

1. ``getPerformanceAvailability`` of one performance (point of sales 2001), default dataset;
2. ``getCatalogDetailed`` on the default (small) dataset and on ``--seed 360 --size large``
   (one connection: its target is a latency);
3. the buy flow, ``createOrUpdateOrder`` (1-2 seats) then ``closeOrder``, on
   ``--seed 360 --size medium``, spread over every on-sale seat category with seats to spare;
4. baselines: a WSGI app that reads the request and returns the reply captured from the
   simulator for 1 and 2 (the same bytes), on the same cheroot set-up
   (``mock_server.server.bind``, same thread count), in a subprocess. A scenario and its
   baseline alternate in ``--rounds`` rounds, so both see the same machine.

The load generator: ``--processes`` processes, each with ``--clients`` threads, each thread
one keep-alive HTTP/1.1 connection (a lean socket client) that sends its next request as
soon as it has read the previous reply. ``--warmup`` seconds first (not measured), then the
measured seconds: a request counts when it completes inside that window with HTTP 200 and
``statusCode`` success. Only 127.0.0.1. Server CPU comes from ``/proc/PID/stat`` (the server
process and its children) over the measured window.

It prints a markdown table and the targets, and writes both (with the date, the machine
and the command) into docs/performance.md between its markers.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import math
import multiprocessing
import os
import platform
import queue
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load_tests import soap  # noqa: E402  (after the path: the script runs from anywhere)
from mock_server.soap import namespaces as ns  # noqa: E402

HOST = "127.0.0.1"
LOGIN = ("DEMO_PARTNER1", "partner1-secret")  # default and generated datasets alike
POS_ID = 2001
AVAILABILITY_PERFORMANCE = 10003  # on sale in the default dataset
LARGE = ("--seed", "360", "--size", "large")
MEDIUM = ("--seed", "360", "--size", "medium")
MIN_SEATS = 50  # a seat category joins the buy flow's rotation with at least this many seats
START_TIMEOUT = 300.0  # seconds for a server to answer (the large dataset loads in ~20 s)
BEGIN = "<!-- throughput:begin (benchmarks/throughput.py writes between these markers) -->"
END = "<!-- throughput:end -->"
CONTENT_TYPE = "text/xml; charset=utf-8"

# Targets (issue 6).
MIN_AVAILABILITY_RATIO = 0.5
MIN_ORDERS_PER_S = 300.0
MAX_LARGE_CATALOG_P50_S = 1.0


# -- what a connection sends ----------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One request, sent again and again."""

    path: str
    body: bytes


@dataclass(frozen=True)
class BuyFlow:
    """createOrUpdateOrder then closeOrder; each connection walks the offers round-robin."""

    login: str
    password: str
    pos_id: int
    payment_method_id: int
    offers: tuple[tuple[int, int, int], ...]  # performance, seat category, tariff
    max_quantity: int = 2


Load = Call | BuyFlow

_FAULT = re.compile(rb"<(?:\w+:)?faultcode>([^<]*)<")
_ORDER_ID = re.compile(rb"<orderId>([^<]*)</orderId>")
_TOTAL = re.compile(rb"<totalAmount>([^<]*)</totalAmount>")
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close", re.IGNORECASE)


class Connection:
    """A lean keep-alive HTTP/1.1 client: a POST is one ``sendall`` of prebuilt bytes, the
    reply is read by its Content-Length (both servers send one). About three times cheaper
    in CPU than ``http.client``, which matters when the generator shares 2 cores with the
    server. Reconnects after an error or a ``Connection: close``."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.sock: socket.socket | None = None
        self.pending = b""

    def connect(self) -> None:
        self.close()
        self.sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.pending = None, b""

    def request(self, path: str, body: bytes) -> bytes:
        return (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            f'Content-Type: {CONTENT_TYPE}\r\nSOAPAction: ""\r\n'
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send a prebuilt request, return (HTTP status, body)."""
        if self.sock is None:
            self.connect()
        sock = self.sock
        assert sock is not None
        sock.sendall(request)
        data = self.pending
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._recv(sock, 65536)
        head = data[:end]
        length = _CONTENT_LENGTH.search(head)
        if not head.startswith(b"HTTP/1.") or length is None:
            self.close()
            raise ConnectionError("reply without status line or Content-Length")
        size = int(length.group(1))
        parts, have = [data[end + 4 :]], len(data) - end - 4
        while have < size:
            chunk = self._recv(sock, min(size - have, 1 << 20))
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        self.pending = data[size:]
        if _CLOSE.search(head):
            self.close()
        return int(head[9:12]), data[:size]

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return self.exchange(self.request(path, body))

    @staticmethod
    def _recv(sock: socket.socket, size: int) -> bytes:
        chunk = sock.recv(max(size, 65536))
        if not chunk:
            raise ConnectionError("connection closed by the server")
        return chunk


Unit = Callable[[Connection], str]  # one unit of work -> "ok" or why not


def verdict(status: int, data: bytes) -> str:
    """``ok`` for HTTP 200 with the result's ``statusCode`` success (the last one: it follows
    the result's fields), else a short reason. The same cost for simulator and baseline."""
    if status != 200:
        fault = _FAULT.search(data)
        return f"HTTP {status}" + (f" {fault.group(1).decode()}" if fault else "")
    at = data.rfind(b"<statusCode>")
    if at < 0:
        return "no statusCode"
    code = data[at + 12 : data.find(b"<", at + 12)]
    return "ok" if code == b"success" else code.decode(errors="replace")


def call_unit(load: Call, port: int) -> Unit:
    request = Connection(port, 0).request(load.path, load.body)  # built once

    def unit(conn: Connection) -> str:
        return verdict(*conn.exchange(request))

    return unit


def buy_unit(load: BuyFlow, connection: int, connections: int) -> Unit:
    """Connection ``i`` of ``n`` takes offers i, i+n, i+2n, ...: concurrent orders go to
    different seat categories, and the whole list is used evenly."""
    envelopes = soap.Envelopes(load.login, load.password)
    create = envelopes["ExternalOrderFacade.createOrUpdateOrder"]
    close = envelopes["ExternalOrderService.closeOrder"]
    positions = itertools.count(connection, connections)
    rng = random.Random(connection)

    def unit(conn: Connection) -> str:
        performance, category, tariff = load.offers[next(positions) % len(load.offers)]
        children = soap.order_children(
            load.pos_id, performance, category, tariff, rng.randint(1, load.max_quantity)
        )
        status, data = conn.post(create.operation.path, create.build(children))
        outcome = verdict(status, data)
        if outcome != "ok":
            return f"createOrUpdateOrder: {outcome}"
        order_id, total = _ORDER_ID.search(data), _TOTAL.search(data)
        if order_id is None or total is None:
            return "createOrUpdateOrder: no orderId or totalAmount"
        children = soap.close_children(
            order_id.group(1).decode(), load.payment_method_id, total.group(1).decode()
        )
        outcome = verdict(*conn.post(close.operation.path, close.build(children)))
        return outcome if outcome == "ok" else f"closeOrder: {outcome}"

    return unit


# -- the load generator ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    port: int
    load: Load
    processes: int
    clients: int  # connections per process
    warmup: float
    duration: float
    timeout: float  # per request

    @property
    def connections(self) -> int:
        return self.processes * self.clients


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def _sleep_until(deadline: float) -> None:
    while (left := deadline - time.perf_counter()) > 0:
        time.sleep(min(left, 0.5))  # real wait: a benchmark measures wall time


def _connection(
    plan: Plan, unit: Unit, start: float, measure: float, end: float, tally: Tally
) -> None:
    conn = Connection(plan.port, plan.timeout)
    try:
        conn.connect()  # opened before the start: connecting is not part of the first request
    except OSError as error:
        tally.errors[f"connect: {type(error).__name__}"] += 1
    _sleep_until(start)
    try:
        while time.perf_counter() < end:
            began = time.perf_counter()
            try:
                outcome = unit(conn)
            except (OSError, ValueError) as error:
                outcome = type(error).__name__
                conn.close()  # the next request reconnects
            done = time.perf_counter()
            if measure <= done <= end:
                if outcome == "ok":
                    tally.latencies.append(done - began)
                else:
                    tally.errors[outcome] += 1
    finally:
        conn.close()


def load_process(index: int, plan: Plan, ready: Any, go: Any, start_at: Any, results: Any) -> None:
    """One load-generator process: ``plan.clients`` connections, one thread each."""
    units: list[Unit] = []
    for c in range(plan.clients):
        number = index * plan.clients + c
        load = plan.load
        units.append(
            call_unit(load, plan.port)
            if isinstance(load, Call)
            else buy_unit(load, number, plan.connections)
        )
    ready.put(index)
    if not go.wait(120):
        return
    start = time.perf_counter() + (start_at.value - time.time())  # wall clock -> perf_counter
    measure, end = start + plan.warmup, start + plan.warmup + plan.duration
    tallies = [Tally() for _ in units]
    threads = [
        threading.Thread(
            target=_connection, args=(plan, unit, start, measure, end, tally), daemon=True
        )
        for unit, tally in zip(units, tallies, strict=True)
    ]
    for t in threads:
        t.start()
    _sleep_until(measure)
    cpu = time.process_time()
    _sleep_until(end)
    cpu = time.process_time() - cpu
    for t in threads:
        t.join(plan.timeout + 5)
    errors: Counter[str] = Counter()
    for tally in tallies:
        errors.update(tally.errors)
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        errors[f"{stuck} connection(s) still waiting at the end"] += 1
    results.put(
        {
            "latencies": [x for tally in tallies for x in tally.latencies],
            "errors": dict(errors),
            "cpu": cpu,
        }
    )


@dataclass
class Measured:
    ok: int
    latencies: list[float]
    errors: Counter[str]
    duration: float
    connections: int
    server_cpu: float | None
    loadgen_cpu: float
    machine_busy: float | None  # cores busy (all processes, kernel included) in the window

    @property
    def rate(self) -> float:
        return self.ok / self.duration

    @staticmethod
    def merge(parts: list[Measured]) -> Measured:
        """Rounds of one scenario as one measurement."""
        duration = sum(p.duration for p in parts)
        server = [p.server_cpu for p in parts]
        machine = [p.machine_busy for p in parts]
        return Measured(
            ok=sum(p.ok for p in parts),
            latencies=[x for p in parts for x in p.latencies],
            errors=sum((p.errors for p in parts), Counter()),
            duration=duration,
            connections=parts[0].connections,
            server_cpu=None if None in server else sum(x or 0.0 for x in server),
            loadgen_cpu=sum(p.loadgen_cpu for p in parts),
            machine_busy=None
            if None in machine
            else sum((m or 0.0) * p.duration for m, p in zip(machine, parts, strict=True))
            / duration,
        )

    def percentile(self, p: float) -> float | None:
        """Nearest rank, in seconds."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def run_load(plan: Plan, server_pid: int) -> Measured:
    """Run the load generator against a ready server; return what the window measured."""
    ctx = multiprocessing.get_context("spawn")  # fresh processes: nothing inherited
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    workers = [
        ctx.Process(target=load_process, args=(i, plan, ready, go, start_at, results), daemon=True)
        for i in range(plan.processes)
    ]
    for w in workers:
        w.start()
    try:
        _collect(ready, workers, 120)
        start_at.value = time.time() + 0.2
        go.set()
        measure = start_at.value + plan.warmup
        _sleep_until(time.perf_counter() + (measure - time.time()))
        cpu, machine = tree_cpu_seconds(server_pid), machine_ticks()
        _sleep_until(time.perf_counter() + (measure + plan.duration - time.time()))
        after, machine_after = tree_cpu_seconds(server_pid), machine_ticks()
        server_cpu = None if cpu is None or after is None else after - cpu
        busy = None
        if machine is not None and machine_after is not None and machine_after[1] > machine[1]:
            share = (machine_after[0] - machine[0]) / (machine_after[1] - machine[1])
            busy = share * (os.cpu_count() or 1)
        parts = _collect(results, workers, plan.timeout + 60)
    finally:
        for w in workers:
            w.join(10)
            if w.is_alive():
                w.terminate()
    errors: Counter[str] = Counter()
    for part in parts:
        errors.update(part["errors"])
    latencies = [x for part in parts for x in part["latencies"]]
    return Measured(
        ok=len(latencies),
        latencies=latencies,
        errors=errors,
        duration=plan.duration,
        connections=plan.connections,
        server_cpu=server_cpu,
        loadgen_cpu=sum(part["cpu"] for part in parts),
        machine_busy=busy,
    )


def _collect(source: Any, workers: list[Any], timeout: float) -> list[Any]:
    """One message from each worker; fails early if a worker died without sending it."""
    received: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(received) < len(workers):
        try:
            received.append(source.get(timeout=1))
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"load generator: {len(received)} of {len(workers)} processes answered"
                    + (f" (exit codes {dead})" if dead else f" within {timeout:.0f}s")
                ) from None
    return received


def machine_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs since boot (Linux ``/proc/stat``)."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - values[3] - values[4], total


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and its descendants (Linux ``/proc``), so
    that a server with worker processes is counted whole."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    if pid not in ticks:
        return None
    children: dict[int, list[int]] = defaultdict(list)
    for child, parent in parents.items():
        children[parent].append(child)
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += ticks.get(current, 0)
        todo.extend(children.get(current, []))
    return total / os.sysconf("SC_CLK_TCK")


# -- servers ----------------------------------------------------------------------------------
def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM if this script dies, even by SIGKILL (no orphans)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_URL = re.compile(r"http://127\.0\.0\.1:(\d+)")


class Server:
    """A server subprocess on a free loopback port (it prints its URL), in its own session so
    that Ctrl-C reaches this script, which stops it (SIGINT, then SIGKILL)."""

    def __init__(self, label: str, argv: list[str], log: Path) -> None:
        self.label = label
        self.log = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.port = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self) -> Server:
        started = time.monotonic()
        while time.monotonic() - started < START_TIMEOUT:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited at start:\n{self.tail()}")
            if not self.port:
                match = _URL.search(self.log.read_text(errors="replace"))
                self.port = int(match.group(1)) if match else 0
            if self.port and self._answers():
                print(f"  {self.label}: ready in {time.monotonic() - started:.1f}s", flush=True)
                return self
            time.sleep(0.2)  # real wait: polling a server process until it answers
        raise RuntimeError(f"{self.label} not ready after {START_TIMEOUT:.0f}s:\n{self.tail()}")

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            conn.request("GET", ns.AVAILABILITY.path + "?wsdl")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def probe(self, call: Call) -> tuple[bytes, float]:
        """One request before the load (the first of its kind: a cold call); its reply,
        checked, is what the baseline serves. Returns the reply and the seconds it took."""
        conn = Connection(self.port, 300)
        began = time.perf_counter()
        try:
            status, data = conn.post(call.path, call.body)
        finally:
            conn.close()
        seconds = time.perf_counter() - began
        outcome = verdict(status, data)
        if outcome != "ok":
            raise RuntimeError(f"{self.label}: probe failed: {outcome}: {data[:500]!r}")
        return data, seconds

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGINT)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> Server:
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def simulator(label: str, dataset: tuple[str, ...], args: argparse.Namespace, tmp: Path) -> Server:
    argv = [
        sys.executable, "-m", "mock_server.cli", "serve",
        "--host", HOST, "--port", "0", "--rate-limits", "off",
        "--threads", str(args.threads), *dataset, *shlex.split(args.server_args),
    ]  # fmt: skip
    return Server(label, argv, tmp / f"{label.replace(' ', '_')}.log")


def baseline(reply: bytes, args: argparse.Namespace, tmp: Path) -> Server:
    body = tmp / f"reply-{len(reply)}.xml"
    body.write_bytes(reply)
    argv = [
        sys.executable, str(Path(__file__).resolve()),
        "--serve-baseline", str(body), "--threads", str(args.threads),
    ]  # fmt: skip
    return Server(f"baseline {len(reply):,} B", argv, tmp / f"baseline-{len(reply)}.log")


def serve_baseline(path: str, threads: int) -> None:
    """The baseline server (a subprocess): the simulator's own cheroot set-up around a
    WSGI app that reads the request and returns fixed bytes."""
    from mock_server.server import bind, serve_forever

    reply = Path(path).read_bytes()
    headers = [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(reply)))]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            environ["wsgi.input"].read(length)
        start_response("200 OK", headers)
        return [reply]

    server = bind(app, HOST, 0, threads)
    print(f"baseline: {len(reply)} B reply on http://{HOST}:{server.bind_addr[1]}", flush=True)
    serve_forever(server)


# -- scenarios -------------------------------------------------------------------------------
@dataclass
class Row:
    scenario: str
    server: str
    measured: Measured
    unit: str = "req/s"
    latency_only: bool = False  # one process, --large-clients connections
    cold: float | None = None  # seconds of the first call, before the load
    baseline: Row | None = None
    reply_bytes: int | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.measured.rate:
            return None
        return self.measured.rate / self.baseline.measured.rate


def envelope(
    service: ns.ServiceInfo, operation: str, login: tuple[str, str], children: str
) -> bytes:
    op = soap.Operation(service, operation)
    return soap.envelope(op, *login).build(children)


def availability_call() -> Call:
    children = (
        f"<pointOfSalesId>{POS_ID}</pointOfSalesId>"
        f"<performanceIds>{AVAILABILITY_PERFORMANCE}</performanceIds>"
    )
    return Call(
        ns.AVAILABILITY.path,
        envelope(ns.AVAILABILITY, "getPerformanceAvailability", LOGIN, children),
    )


def catalog_call(login: tuple[str, str]) -> Call:
    return Call(ns.CATALOG.path, envelope(ns.CATALOG, "getCatalogDetailed", login, ""))


def discover_buy_flow(port: int) -> tuple[BuyFlow, str]:
    """On-sale seat categories with seats to spare, as the load tests discover them."""
    from load_tests.config import Partner
    from load_tests.discovery import discover_partner

    view = discover_partner(f"http://{HOST}:{port}", Partner(*LOGIN), timeout=300)
    rng = random.Random(360)
    chosen = [o for o in view.offers if o.available >= MIN_SEATS]
    rng.shuffle(chosen)  # neighbours in the rotation are other performances
    offers = tuple((o.performance_id, o.seat_category_id, rng.choice(o.tariff_ids)) for o in chosen)
    if not offers:
        raise RuntimeError(f"no seat category with {MIN_SEATS} seats on sale")
    flow = BuyFlow(
        login=view.login,
        password=view.password,
        pos_id=view.pos_id,
        payment_method_id=view.payment_method_id,
        offers=offers,
        max_quantity=min(2, view.max_seats),
    )
    performances = len({o.performance_id for o in chosen})
    seats = sum(o.available for o in chosen)
    return flow, f"{len(offers)} seat categories of {performances} performances, {seats:,} seats"


def measure(
    label: str,
    server: Server,
    load: Load,
    args: argparse.Namespace,
    latency_only: bool = False,
    duration: float | None = None,
) -> Measured:
    processes, clients = (1, args.large_clients) if latency_only else (args.processes, args.clients)
    seconds = args.duration if duration is None else duration
    plan = Plan(server.port, load, processes, clients, args.warmup, seconds, args.timeout)
    print(f"  {label} on {server.label}: {processes}x{clients} connections ...", flush=True)
    result = run_load(plan, server.pid)
    p50 = result.percentile(50)
    print(
        f"    {result.ok} ok, {sum(result.errors.values())} errors, {result.rate:.1f}/s,"
        f" p50 {_ms(p50)} ms"
        + (f"  errors: {dict(result.errors.most_common(3))}" if result.errors else ""),
        flush=True,
    )
    return result


def measure_pair(
    scenario: str,
    sim: Server,
    call: Call,
    args: argparse.Namespace,
    tmp: Path,
    latency_only: bool = False,
) -> Row:
    """The scenario and its baseline, alternating over ``--rounds`` rounds of
    ``--duration / --rounds`` seconds each, so that both see the same machine (the
    simulator is idle while the baseline runs, and the other way round)."""
    reply, cold = sim.probe(call)
    share = args.duration / args.rounds
    ours: list[Measured] = []
    theirs: list[Measured] = []
    with baseline(reply, args, tmp) as base:
        for n in range(args.rounds):
            label = f"{scenario} (round {n + 1}/{args.rounds})"
            ours.append(measure(label, sim, call, args, latency_only, share))
            theirs.append(measure(label, base, call, args, latency_only, share))
    row = Row(scenario, sim.label, Measured.merge(ours), latency_only=latency_only, cold=cold)
    row.reply_bytes = len(reply)
    row.baseline = Row(
        scenario,
        f"baseline: bare WSGI, same {len(reply):,} B reply",
        Measured.merge(theirs),
        latency_only=latency_only,
    )
    return row


def run_scenarios(args: argparse.Namespace, tmp: Path) -> list[Row]:
    """Each simulator once (the large dataset loads in ~20 s), with its scenarios."""
    rows: list[Row] = []
    only = set(args.only or ["availability", "catalog", "buy"])
    default = {
        "availability": (
            f"getPerformanceAvailability ({AVAILABILITY_PERFORMANCE})",
            availability_call(),
        ),
        "catalog": ("getCatalogDetailed, small dataset", catalog_call(LOGIN)),
    }
    if only & set(default):
        with simulator("s360-mock, default dataset", (), args, tmp) as sim:
            for key, (scenario, call) in default.items():
                if key in only:
                    rows.append(measure_pair(scenario, sim, call, args, tmp))
    if "catalog" in only and not args.skip_large:
        with simulator("s360-mock, seed 360 large", LARGE, args, tmp) as sim:
            scenario = "getCatalogDetailed, large dataset"
            rows.append(measure_pair(scenario, sim, catalog_call(LOGIN), args, tmp, True))
    if "buy" in only:
        with simulator("s360-mock, seed 360 medium", MEDIUM, args, tmp) as sim:
            flow, what = discover_buy_flow(sim.port)
            print(f"  buy flow over {what}", flush=True)
            scenario = "buy flow: createOrUpdateOrder (1-2 seats) + closeOrder"
            row = Row(scenario, sim.label, measure(scenario, sim, flow, args), unit="orders/s")
            row.note = f"each order in one of {what}, round-robin"
            rows.append(row)
    return rows


# -- the report ------------------------------------------------------------------------------
def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:.1f}"


def _per_k(cpu: float | None, ok: int) -> str:
    return "–" if cpu is None or not ok else f"{cpu / ok * 1000:.2f}"


def table(rows: list[Row]) -> str:
    header = (
        "| scenario | server | conns | requests | errors | req/s | p50 ms | p99 ms"
        " | vs baseline | server CPU s/1k req | server cores | loadgen CPU s/1k req"
        f" | machine cores busy (of {os.cpu_count()}) |"
    )
    lines = [header, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for row in _with_baselines(rows):
        m = row.measured
        ratio = row.ratio
        lines.append(
            f"| {row.scenario} | {row.server} | {m.connections} | {m.ok:,} |"
            f" {sum(m.errors.values()):,} | {m.rate:,.1f}"
            + (f" {row.unit}" if row.unit != "req/s" else "")
            + f" | {_ms(m.percentile(50))} | {_ms(m.percentile(99))} |"
            f" {'–' if ratio is None else f'{ratio:.0%}'} | {_per_k(m.server_cpu, m.ok)} |"
            f" {'–' if m.server_cpu is None else f'{m.server_cpu / m.duration:.2f}'} |"
            f" {_per_k(m.loadgen_cpu, m.ok)} |"
            f" {'–' if m.machine_busy is None else f'{m.machine_busy:.2f}'} |"
        )
    return "\n".join(lines)


def targets(rows: list[Row]) -> tuple[str, bool]:
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    passed = True

    def add(text: str, row: Row | None, value: Callable[[Row], tuple[str, bool]]) -> None:
        nonlocal passed
        if row is None:
            lines.append(f"| {text} | not measured | – |")
            return
        shown, ok = value(row)
        passed = passed and ok
        lines.append(f"| {text} | {shown} | {'PASS' if ok else 'FAIL'} |")

    def ratio(row: Row) -> tuple[str, bool]:
        assert row.baseline is not None
        r = row.ratio or 0.0
        shown = f"{r:.0%} ({row.measured.rate:,.0f} vs {row.baseline.measured.rate:,.0f} req/s)"
        return shown, r >= MIN_AVAILABILITY_RATIO

    def orders(row: Row) -> tuple[str, bool]:
        return f"{row.measured.rate:,.1f} orders/s", row.measured.rate >= MIN_ORDERS_PER_S

    def large(row: Row) -> tuple[str, bool]:
        p50 = row.measured.percentile(50)
        cold = f" (first call, cold: {_ms(row.cold)} ms)" if row.cold is not None else ""
        return f"p50 {_ms(p50)} ms{cold}", p50 is not None and p50 < MAX_LARGE_CATALOG_P50_S

    def find(prefix: str) -> Row | None:
        return next((row for row in rows if row.scenario.startswith(prefix)), None)

    add(
        f"getPerformanceAvailability ≥ {MIN_AVAILABILITY_RATIO:.0%} of the baseline's req/s",
        find("getPerformanceAvailability"),
        ratio,
    )
    add(f"buy flow ≥ {MIN_ORDERS_PER_S:.0f} closed orders/s", find("buy flow"), orders)
    add(
        f"getCatalogDetailed, large dataset: p50 < {MAX_LARGE_CATALOG_P50_S:.0f} s",
        find("getCatalogDetailed, large"),
        large,
    )
    return "\n".join(lines), passed


def _with_baselines(rows: list[Row]) -> list[Row]:
    return [r for row in rows for r in (row, row.baseline) if r is not None]


def notes(rows: list[Row]) -> list[str]:
    """The lines under the tables: cold first calls, the buy flow's rotation, the errors."""
    lines = []
    for row in rows:
        if row.cold is not None:
            lines.append(
                f"{row.scenario}: the first call (cold, before the load) took {_ms(row.cold)} ms;"
                f" reply {row.reply_bytes:,} B"
            )
        if row.note:
            lines.append(f"{row.scenario}: {row.note}")
    for row in _with_baselines(rows):
        if row.measured.errors:
            top = ", ".join(f"{k} × {v}" for k, v in row.measured.errors.most_common(4))
            lines.append(f"errors in {row.scenario} on {row.server}: {top}")
    return lines


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return (
        f"nproc {os.cpu_count()}{f' ({model})' if model else ''}, {platform.system()}"
        f" {platform.release()}, Python {platform.python_version()}, commit {commit or '?'}"
        + (" + local changes" if dirty else "")
    )


def _git(*argv: str) -> str:
    try:
        return subprocess.run(
            ["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def command() -> str:
    exe = Path(sys.executable)
    try:
        shown = str(exe.relative_to(ROOT)) if exe.is_relative_to(ROOT) else str(exe)
    except ValueError:
        shown = str(exe)
    script = Path(sys.argv[0]).resolve()
    script_shown = str(script.relative_to(ROOT)) if script.is_relative_to(ROOT) else str(script)
    return shlex.join([shown, script_shown, *sys.argv[1:]])


def report(rows: list[Row], args: argparse.Namespace) -> tuple[str, bool]:
    goals, passed = targets(rows)
    settings = (
        f"{args.duration:g} s measured per scenario"
        + (
            f" (and per baseline) in {args.rounds} alternating rounds"
            if args.rounds > 1
            else " (and per baseline)"
        )
        + f", each after {args.warmup:g} s of warm-up;"
        f" load generator {args.processes} processes × {args.clients} keep-alive connections"
        f" (large catalog: 1 × {args.large_clients}); server threads {args.threads};"
        f" serve --rate-limits off {args.server_args}".rstrip()
    )
    parts = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
        f"Command: `{command()}`",
        "",
        f"Settings: {settings}.",
        "",
        table(rows),
        "",
        goals,
    ]
    extra = notes(rows)
    if extra:
        parts += ["", *(f"- {line}" for line in extra)]
    return "\n".join(parts), passed


def write_doc(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    content = f"{BEGIN}\n{block}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + content + rest.split(END, 1)[1]
    else:
        text = (text or "# Performance\n") + f"\n## Results\n\n{content}\n"
    path.write_text(text, encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Throughput and latency of the simulator against a bare WSGI baseline "
        "(docs/performance.md)"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds per scenario"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="a scenario and its baseline alternate in this many rounds (duration split)",
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds before each measurement"
    )
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--clients", type=int, default=4, help="connections per process")
    parser.add_argument(
        "--large-clients",
        type=int,
        default=1,
        help="connections for getCatalogDetailed on the large dataset (a latency target)",
    )
    parser.add_argument("--threads", type=int, default=16, help="server threads (both servers)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    parser.add_argument("--skip-large", action="store_true", help="no large-dataset catalog")
    parser.add_argument(
        "--only",
        action="append",
        choices=["availability", "catalog", "buy"],
        help="only these scenarios (repeatable); the document is then not written",
    )
    parser.add_argument(
        "--server-args", default="", help='extra arguments for "s360-mock serve", one string'
    )
    parser.add_argument(
        "--out", default="docs/performance.md", help="document to update ('-': none)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--serve-baseline", metavar="REPLY_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.processes, args.clients, args.large_clients, args.threads, args.rounds) < 1:
        parser.error("--processes, --clients, --large-clients, --threads, --rounds must be >= 1")
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be > 0 and --warmup >= 0")
    return args


def main() -> int:
    args = parse_args()
    if args.serve_baseline:  # the baseline server's own process
        serve_baseline(args.serve_baseline, args.threads)
        return 0
    print(f"throughput: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="s360-throughput-") as tmp:
        rows = run_scenarios(args, Path(tmp))
    text, passed = report(rows, args)
    print()
    print(text)
    if args.out != "-" and not args.only:
        out = Path(args.out) if Path(args.out).is_absolute() else ROOT / args.out
        write_doc(out, text)
        print(f"\nwritten to {out}")
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
