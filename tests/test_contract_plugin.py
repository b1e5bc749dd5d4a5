"""The pytest plugin as a partner uses it (its own test file, in its own pytest run) and
the `s360-mock contract provider` command."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mock_server.testing import RunningSimulator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

PARTNER_TESTS = textwrap.dedent(
    f"""
    import sys

    import pytest

    sys.path.insert(0, {str(EXAMPLES)!r})
    import reference_client


    def test_provider(s360_contract):
        result = s360_contract.provider(max_examples=2, steps=6)
        assert result.examples >= 2


    @pytest.mark.s360_admin
    def test_our_client(s360_contract):
        done = s360_contract.client(reference_client.run, key_examples=False, max_examples=2)
        assert all(outcome.ok for outcome in done)


    @pytest.mark.s360_admin
    def test_admin(s360_admin):
        assert s360_admin.health()["status"] == "ok"
    """
)


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_partner.py").write_text(PARTNER_TESTS)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_plugin_starts_a_simulator_without_a_url(tmp_path: Path) -> None:
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_admin_tests_are_skipped_against_a_host_without_control_plane(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "--s360-url", "http://127.0.0.1:9", "-k", "admin or client", "-rs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 skipped" in done.stdout and "no control plane" in done.stdout


def test_the_plugin_options_are_registered() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True, timeout=120
    )
    for option in ("--s360-url", "--s360-sandbox-safe", "--s360-profile", "--s360-barcode-format"):
        assert option in done.stdout


def test_the_provider_command(mock: RunningSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    from mock_server.cli import main

    try:
        status = main(
            ["contract", "provider", "--url", mock.base_url, "--examples", "2", "--steps", "8"]
        )
    finally:
        mock.reset()
    out = capsys.readouterr().out
    assert status == 0, out
    assert "provider contract holds: 2 examples" in out
