"""The admin API itself: access, JSON errors, the OpenAPI document, reset."""

from __future__ import annotations

import pytest
import requests

from mock_server.admin import schemas
from mock_server.admin.api import is_loopback
from mock_server.admin_client import AdminClient, AdminError
from mock_server.testing import running_simulator, simulator_fixture

mock = simulator_fixture()


def routes_of(app):
    return app.extensions["s360mock.routes"]


def test_health(mock):
    health = mock.admin.health()
    assert health["status"] == "ok" and health["dataset"]
    assert all(s["mounted"] for s in health["services"])


def test_openapi_document_matches_the_routes(mock):
    doc = mock.admin.openapi()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    flask_app = mock.app.admin
    served = set()
    for rule in flask_app.url_map.iter_rules():
        if not rule.rule.startswith("/_mock"):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
        served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented
    assert not [r for r in flask_app.url_map.iter_rules() if not r.rule.startswith("/_mock")]


def test_request_schemas_in_the_document_are_the_validated_ones(mock):
    doc = mock.admin.openapi()
    local = {(r.path, r.method): r for r in routes_of(mock.app.admin)}
    with_body = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            route = local[(path, method.upper())]
            if route.body is None:
                assert "requestBody" not in op
                continue
            with_body += 1
            assert route.validator.schema is route.body  # the view validates with this object
            assert op["requestBody"]["content"]["application/json"]["schema"] == route.body
            if route.query is not None:
                assert route.query_validator.schema is route.query
    assert with_body >= 12
    journal = local[("/_mock/journal", "GET")]
    assert journal.query is schemas.JOURNAL_QUERY
    params = {p["name"]: p["schema"] for p in doc["paths"]["/_mock/journal"]["get"]["parameters"]}
    assert params == schemas.JOURNAL_QUERY["properties"]
    assert local[("/_mock/faults", "POST")].body is schemas.FAULT_RULE


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/_mock/no-such-thing", 404),
        ("DELETE", "/_mock/health", 405),
        ("GET", "/_mock/faults/notanumber", 404),
        ("GET", "/_mock/faults/99999999999999999999999", 404),
        ("POST", "/_mock/snapshots/..%2F..%2Fetc/restore", 400),
        ("POST", "/_mock/snapshots/nope/restore", 404),
    ],
)
def test_errors_are_json(mock, method, path, status):
    r = requests.request(method, mock.base_url + path, timeout=10)
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"]


def test_bad_bodies_are_400_json_with_problems(mock):
    for data, ctype in (
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (b"", "text/plain"),
    ):
        r = requests.post(
            mock.base_url + "/_mock/faults", data=data, headers={"Content-Type": ctype}, timeout=10
        )
        assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/json")
        assert r.json()["problems"]
    r = requests.post(mock.base_url + "/_mock/faults", data=b"x" * (2 * 1024 * 1024), timeout=10)
    assert r.status_code == 413 and r.json()["error"]


def test_an_internal_error_is_500_json(mock, monkeypatch):
    def boom():
        raise RuntimeError("kaput")

    monkeypatch.setattr(mock.sim.control, "journal_stats", boom)
    r = requests.get(mock.base_url + "/_mock/journal/settings", timeout=10)
    assert r.status_code == 500 and "RuntimeError" in r.json()["error"] and "kaput" not in r.text


def test_remote_callers_are_refused_without_a_token(mock):
    client = mock.app.admin.test_client()
    r = client.get("/_mock/health", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert r.status_code == 403 and "loopback" in r.get_json()["error"]
    assert client.get("/_mock/health", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert (
        client.get("/_mock/health", environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"}).status_code
        == 200
    )
    assert (
        is_loopback("127.0.0.2")
        and not is_loopback("10.0.0.1")
        and not is_loopback("")
        and not is_loopback("x")
    )


def test_a_token_is_required_from_everyone_when_configured():
    with running_simulator(admin_token="s3cret") as guarded:
        r = requests.get(guarded.base_url + "/_mock/health", timeout=10)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        with pytest.raises(AdminError) as info:
            AdminClient(guarded.base_url, token="wrong").health()
        assert info.value.status == 401
        assert guarded.admin.health()["status"] == "ok"  # RunningSimulator.admin carries the token
        client = guarded.app.admin.test_client()
        remote = client.get(
            "/_mock/health",
            environ_base={"REMOTE_ADDR": "192.0.2.10"},
            headers={"Authorization": "Bearer s3cret"},
        )
        assert remote.status_code == 200


def test_reset_goes_back_to_the_start(mock):
    mock.admin.set_rate_limits("s360")
    mock.admin.add_fault({"type": "drop"}, operation="nothing")
    mock.admin.set_clock("2027-01-01T00:00:00Z")
    mock.admin.sell_out(10003)
    mock.admin.save_snapshot("kept")
    assert mock.admin.reset()["status"] == "reset"
    assert mock.admin.faults() == []
    assert (
        mock.admin.rate_limits()["enabled"] is False
    )  # this simulator started with rate limits off
    assert mock.admin.clock()["now"].startswith("2026-09-01")
    assert mock.admin.audit()["ok"]
    assert [s["name"] for s in mock.admin.snapshots()] == ["kept"]  # snapshots survive a reset
    mock.admin.delete_snapshot("kept")


def test_simulator_fixture_resets_between_tests_part_1(mock):
    mock.admin.add_fault({"type": "drop"}, operation="nothing")


def test_simulator_fixture_resets_between_tests_part_2(mock):
    assert mock.admin.faults() == []
