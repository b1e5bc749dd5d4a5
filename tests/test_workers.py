"""serve --workers: several processes, one port, one state."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests
from soap_raw import envelope, result

from mock_server.soap import namespaces as ns
from mock_server.workers import WORKER_FLAG, worker_argv

ROOT = Path(__file__).resolve().parent.parent


def test_worker_command_line_keeps_user_flags_and_fixes_the_rest():
    argv = [
        "serve",
        "--workers",
        "2",
        "--port=0",
        "--rate-limits",
        "off",
        "--reset-state",
        "--seed",
        "7",
    ]
    assert worker_argv(argv, "127.0.0.1", 9000, "sqlite:///s.db") == [
        "serve", "--rate-limits", "off", "--seed", "7",
        "--host", "127.0.0.1", "--port", "9000", "--state", "sqlite:///s.db", WORKER_FLAG,
    ]  # fmt: skip


def test_two_workers_share_the_port_and_the_state(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_server.cli",
            "serve",
            "--workers",
            "2",
            "--port",
            "0",
            "--rate-limits",
            "off",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        banner = ""
        while "Ctrl-C" not in banner:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            banner += line
        base = re.search(r"(http://[0-9.]+:\d+)/", banner).group(1)
        state = re.search(r"state sqlite:///(\S+)", banner).group(1)
        facade, av = ns.ORDER_FACADE, ns.AVAILABILITY
        order = (
            "<pointOfSalesId>2001</pointOfSalesId><singleEntryAttributionOperations><operationAttributions>"
            "<performanceId>10003</performanceId><seatCategoryId>4001</seatCategoryId>"
            "<audienceSubCategoryId>101</audienceSubCategoryId><quantity>1</quantity>"
            "</operationAttributions></singleEntryAttributionOperations>"
        )
        query = "<pointOfSalesId>2001</pointOfSalesId><performanceIds>10003</performanceIds>"

        def available() -> int:
            r = requests.post(
                base + av.path,
                data=envelope(av.tns, "getPerformanceAvailability", query),
                timeout=30,
            )
            return int(result(r).findtext("performanceAvailabilities/available"))

        before = available()
        for _ in range(10):  # new connections: the kernel spreads them over both workers
            r = requests.post(
                base + facade.path,
                data=envelope(facade.tns, "createOrUpdateOrder", order),
                timeout=30,
            )
            assert result(r).findtext("statusCode") == "success"
            assert available() == before - 1 - _  # whichever worker answers sees every hold
        journal = requests.get(
            base + "/_mock/journal", params={"operation": "createOrUpdateOrder"}, timeout=30
        ).json()
        assert journal["matching"] == 10
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert not Path(state).exists()  # the temporary state is removed
