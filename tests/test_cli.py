"""The s360-mock command, run as a user runs it."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from fixtures.validate import default_dataset_path

EXE = [sys.executable, "-m", "mock_server.cli"]
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, **kw):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [*EXE, *args], capture_output=True, text=True, timeout=120, cwd=ROOT, **kw
    )


def test_dataset_generate_is_the_default_and_validates(tmp_path):
    out = tmp_path / "d.json"
    r = run("dataset", "generate", "--size", "small", "--seed", "360", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == default_dataset_path().read_bytes()
    r = run("dataset", "validate", str(out))
    assert r.returncode == 0 and "valid" in r.stdout


def test_dataset_validate_lists_every_problem(tmp_path):
    doc = json.loads(default_dataset_path().read_text())
    broken = copy.deepcopy(doc)
    broken["partners"][1]["password"] = ""
    broken["products"][0]["event"]["prices"][0]["amount"] = -1
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    r = run("dataset", "validate", str(path))
    assert r.returncode == 1
    assert (
        "$.partners[1].password" in r.stdout and "$.products[0].event.prices[0].amount" in r.stdout
    )


def test_serve_refuses_an_invalid_dataset_with_its_problems(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"formatVersion": 1}')
    r = run("serve", "--dataset", str(path), "--port", "0")
    assert r.returncode == 2
    assert "nothing loaded" in r.stderr and "$" in r.stderr


def test_serve_starts_answers_and_stops(tmp_path):
    proc = subprocess.Popen(
        [*EXE, "serve", "--port", "0", "--state", f"sqlite:///{tmp_path / 's.db'}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        while "CatalogService" not in line:
            assert line, proc.stderr.read()
            line = proc.stdout.readline()
        url = re.search(r"(http://\S+)\?wsdl", line).group(1)
        r = requests.get(url + "?wsdl", timeout=30)
        assert r.status_code == 200 and b"getCatalogDetailed" in r.content
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)  # also closes the pipes
