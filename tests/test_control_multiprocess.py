"""Several workers sharing one state file agree on the clock, the rate limits, the
fault rules and the journal. Two simulators in this process (each with its own
engine, caches and clock object) stand for two worker processes; one test runs
two real `s360-mock serve` processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from soap_raw import envelope

from mock_server.admin_client import AdminClient
from mock_server.simulator import SimulatorConfig
from mock_server.soap import namespaces as ns
from mock_server.testing import running_simulator

ROOT = Path(__file__).resolve().parent.parent


def availability(base_url: str) -> requests.Response:
    body = envelope(
        ns.AVAILABILITY.tns,
        "getPerformanceAvailability",
        "<pointOfSalesId>2001</pointOfSalesId><performanceIds>10003</performanceIds>",
    )
    return requests.post(
        base_url + ns.AVAILABILITY.path, data=body.encode(), headers={"Content-Type": "text/xml"}
    )


def alive(base_url: str) -> requests.Response:
    body = envelope(ns.CATALOG.tns, "isCatalogServiceAlive")
    return requests.post(
        base_url + ns.CATALOG.path, data=body.encode(), headers={"Content-Type": "text/xml"}
    )


@pytest.fixture
def pair(tmp_path):
    config = SimulatorConfig(state_url=f"sqlite:///{tmp_path / 'state.db'}", rate_limits="s360")
    with running_simulator(config) as a, running_simulator(config) as b:
        yield a, b


def test_clock_rate_limits_journal_and_faults_are_shared(pair):
    a, b = pair
    a.admin.freeze_clock("2026-09-01T12:00:00Z")
    assert b.admin.clock()["now"] == "2026-09-01T12:00:00.000Z"
    assert availability(a.base_url).status_code == 200
    r = availability(b.base_url)
    assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    b.admin.advance_clock(60)
    assert a.admin.clock()["now"] == "2026-09-01T12:01:00.000Z"
    assert availability(a.base_url).status_code == 200
    journal_b = b.admin.journal(operation="getPerformanceAvailability")["entries"]
    assert [e["outcome"] for e in journal_b] == ["success", "rate-limited", "success"]
    # a rule added through one worker fires once, in whichever worker the call lands
    a.admin.add_fault(
        {"type": "http", "httpStatus": 503}, operation="isCatalogServiceAlive", times=1
    )
    assert alive(b.base_url).status_code == 503
    assert alive(a.base_url).status_code == 200
    assert alive(b.base_url).status_code == 200
    (rule,) = b.admin.faults()
    assert rule["fired"] == 1 and rule["exhausted"]
    # settings changed through one worker are used by the other
    b.admin.set_rate_limits("off")
    assert availability(a.base_url).status_code == 200
    assert availability(a.base_url).status_code == 200
    # direct Python use of one simulator's clock reaches the other too
    a.sim.clock.advance(3600)
    assert b.admin.clock()["now"] == "2026-09-01T13:01:00.000Z"


def test_concurrent_workers_cannot_overshoot_a_limit(pair):
    a, b = pair
    a.admin.set_rate_limits(
        {"policies": [{"name": "seven", "limit": 7, "windowSeconds": 60, "key": "partner"}]}
    )

    def call(i):
        return alive((a if i % 2 else b).base_url).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(call, range(40)))
    assert statuses.count(200) == 7 and statuses.count(429) == 33
    assert len(a.admin.journal(outcome="rate-limited")["entries"]) == 33


def _start(state: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_server.cli",
            "serve",
            "--port",
            "0",
            "--state",
            f"sqlite:///{state}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    line = proc.stdout.readline()
    while "CatalogService" not in line:
        assert line, proc.stderr.read()
        line = proc.stdout.readline()
    url = re.search(r"(http://[^/\s]+)/", line).group(1)
    return proc, url


def test_two_real_worker_processes(tmp_path):
    state = tmp_path / "state.db"
    first, url1 = _start(state)
    second = None
    try:
        second, url2 = _start(state)
        admin1, admin2 = AdminClient(url1), AdminClient(url2)
        admin1.freeze_clock("2026-09-02T08:00:00Z")
        assert admin2.clock()["now"] == "2026-09-02T08:00:00.000Z"
        assert availability(url2).status_code == 200
        assert availability(url1).status_code == 429
        admin1.advance_clock(60)
        assert availability(url2).status_code == 200
        outcomes = [
            e["outcome"] for e in admin1.journal(operation="getPerformanceAvailability")["entries"]
        ]
        assert outcomes == ["success", "rate-limited", "success"]
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.send_signal(signal.SIGINT)
                proc.communicate(timeout=30)
