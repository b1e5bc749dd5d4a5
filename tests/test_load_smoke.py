"""Short headless locust runs, end to end, as ``make load`` does them (CI smoke).

Each run is ``s360-mock load`` in a subprocess: locust (and gevent) never enter
pytest's process. Sized for a 2-core CI machine: a few users for a few seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mock_server.testing import running_simulator

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def load(*args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_server.cli", "load", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def summary(report_root: Path) -> dict[str, Any]:
    (run_dir,) = report_root.glob("load-*")
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data


def explain(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


def test_a_short_run_meets_its_thresholds_and_the_audit(tmp_path):
    started = time.monotonic()
    done = load(
        "--users", "10",
        "--spawn-rate", "10",
        "--duration", "10s",
        "--users-seed", "360",
        "--max-failure-ratio", "0",
        "--min-rps", "3",
        "--report-dir", str(tmp_path),
    )  # fmt: skip
    wall = time.monotonic() - started
    assert done.returncode == 0, explain(done)
    assert wall < 60, f"took {wall:.0f}s"
    result = summary(tmp_path)
    ops = {o["name"]: o for o in result["operations"]}
    for name in (
        "CatalogService.getLastSetupUpdate",
        "CatalogService.getCatalogDetailed",
        "CatalogService.getPOSConfig",
        "AvailabilityService.getUpdatedAvailabilities",
        "AvailabilityService.getPerformanceAvailability",
        "ExternalOrderFacade.createOrUpdateOrder",
        "ExternalOrderService.closeOrder",
        "ContactInformationPublicService.createCulturalContact",
    ):
        assert ops.get(name, {}).get("requests", 0) > 0, name
    assert result["total"]["failures"] == 0, result["failures"]
    assert result["counters"]["tickets.issued"] > 0
    assert result["audit"]["ok"] is True and result["audit"]["violations"] == []
    assert result["thresholds"] and all(c["ok"] for c in result["thresholds"])
    run_dir = Path(result["reportDir"])
    assert (run_dir / "report.html").stat().st_size > 10_000
    assert (run_dir / "locust_stats.csv").exists() and (run_dir / "simulator.log").exists()
    # The table and the verdict are printed.
    assert "ExternalOrderService.closeOrder" in done.stdout and "req/s" in done.stdout
    assert "audit: ok" in done.stdout and "result: PASS" in done.stdout


def test_a_master_and_two_workers_aggregate_against_a_running_simulator(tmp_path):
    with running_simulator() as mock:
        done = load(
            "--host", mock.base_url,
            "--processes", "2",
            "--users", "6",
            "--duration", "6s",
            "--max-failure-ratio", "0",
            "--report-dir", str(tmp_path),
        )  # fmt: skip
        # The run changed this simulator's state: orders were closed here.
        assert mock.admin.audit()["ok"] is True
    assert done.returncode == 0, explain(done)
    result = summary(tmp_path)
    workers = result["workers"]
    assert len(workers) == 2, workers
    assert all(w["requests"] > 0 for w in workers.values()), workers
    # The master's totals are the sum of what each worker reported.
    assert sum(w["requests"] for w in workers.values()) == result["total"]["requests"]
    assert result["audit"]["ok"] is True
    assert "locust master + 2 worker(s)" in done.stdout


def test_refused_calls_are_failures_and_fail_the_run(tmp_path):
    """With the platform's rate limits a load run cannot pass: 429s are failures by default."""
    done = load(
        "--users", "3",
        "--duration", "4s",
        "--user-classes", "buyer",
        "--rate-limits", "s360",
        "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 1, explain(done)
    result = summary(tmp_path)
    assert any(f["error"] == "HTTP 429 rate limited" for f in result["failures"]), result
    ratio = next(c for c in result["thresholds"] if c["name"] == "failure ratio")
    assert ratio["ok"] is False
    assert result["audit"]["ok"] is True  # a refused call changes nothing
    assert "result: FAIL" in done.stdout
