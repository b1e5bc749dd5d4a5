"""S-360 rate limits, over real HTTP, exact on the virtual clock."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import zeep
from soap_raw import SOAP_ENV, envelope, parse

from mock_server.admin_client import AdminError
from mock_server.core import ratelimit
from mock_server.core.ratelimit import PolicyError
from mock_server.soap import namespaces as ns
from mock_server.testing import simulator_fixture

P1 = ("DEMO_PARTNER1", "partner1-secret")
P2 = ("DEMO_PARTNER2", "partner2-secret")

limited = simulator_fixture(rate_limits="s360")


def perf_availability(mock, login=P1, pos=2001, performance=10003):
    body = envelope(
        ns.AVAILABILITY.tns,
        "getPerformanceAvailability",
        f"<pointOfSalesId>{pos}</pointOfSalesId><performanceIds>{performance}</performanceIds>",
        login=login,
    )
    return requests.post(
        mock.url("AvailabilityService"), data=body.encode(), headers={"Content-Type": "text/xml"}
    )


def soap_call(mock, service, operation, children="", login=P1):
    info = {i.name: i for i in ns.ALL_SERVICES}[service]
    body = envelope(info.tns, operation, children, login=login)
    return requests.post(
        mock.url(service), data=body.encode(), headers={"Content-Type": "text/xml"}
    )


def refused(response, status=429):
    """Assert the documented refusal: status, Retry-After, SOAP fault; return Retry-After."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    fault = parse(response).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None
    assert fault.findtext("faultcode").split(":", 1)[-1] == "Client.RateLimitExceeded"
    retry = response.headers["Retry-After"]
    assert retry.isdigit() and int(retry) >= 1
    assert fault.find("detail/rateLimit/retryAfterSeconds").text == retry
    return int(retry)


def test_second_availability_call_in_a_minute_is_refused_then_admitted(limited):
    av = limited.soap_client("AvailabilityService")
    first = av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10003])
    assert first.statusCode == "success"
    with pytest.raises(zeep.exceptions.Fault) as info:
        av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10003])
    assert info.value.code.split(":", 1)[-1] == "Client.RateLimitExceeded"
    r = perf_availability(limited)
    assert 55 <= refused(r) <= 60
    limited.admin.advance_clock(60)
    again = av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10003])
    assert again.statusCode == "success"
    entries = limited.admin.journal(operation="getPerformanceAvailability")["entries"]
    assert [(e["outcome"], e["httpStatus"]) for e in entries] == [
        ("success", 200),
        ("rate-limited", 429),
        ("rate-limited", 429),
        ("success", 200),
    ]
    assert all(e["partner"] == "DEMO_PARTNER1" for e in entries)
    assert entries[3]["timeMs"] - entries[0]["timeMs"] >= 60_000
    assert entries[0]["params"] == {"pointOfSalesId": "2001", "performanceIds": "10003"}
    assert 0 < entries[1]["result"]["retryAfter"] <= 60


def test_exact_window_59_seconds_later_still_refused(limited):
    limited.admin.freeze_clock()
    assert perf_availability(limited).status_code == 200
    assert refused(perf_availability(limited)) == 60
    limited.admin.advance_clock(59)
    assert refused(perf_availability(limited)) == 1
    limited.admin.advance_clock(0.999)
    assert refused(perf_availability(limited)) == 1  # 1 ms left, rounded up
    limited.admin.advance_clock(0.001)
    assert perf_availability(limited).status_code == 200


def test_the_other_partner_is_not_affected(limited):
    catalog2 = limited.soap_client("CatalogService", P2)
    pos2 = catalog2.service.getPOSConfig().posConfigData.posId
    assert perf_availability(limited).status_code == 200
    refused(perf_availability(limited))
    r = perf_availability(limited, login=P2, pos=pos2)
    assert r.status_code == 200, r.text
    refused(perf_availability(limited, login=P2, pos=pos2))
    counters = limited.admin.rate_limit_counters()["counters"]
    mine = {(c["policy"], c["partner"]): c for c in counters}
    assert mine[("availability", "DEMO_PARTNER1")]["count"] == 1
    assert mine[("availability", "DEMO_PARTNER2")]["count"] == 1
    assert mine[("instance", "DEMO_PARTNER2")]["count"] == 2  # getPOSConfig + one admitted call


def test_each_availability_method_has_its_own_minute(limited):
    assert perf_availability(limited).status_code == 200
    r = soap_call(
        limited,
        "AvailabilityService",
        "getEventAvailability",
        "<pointOfSalesId>2001</pointOfSalesId><performanceIds>10003</performanceIds>",
    )
    assert r.status_code == 200
    refused(
        soap_call(
            limited,
            "AvailabilityService",
            "getEventAvailability",
            "<pointOfSalesId>2001</pointOfSalesId><performanceIds>10003</performanceIds>",
        )
    )
    # getUpdatedAvailabilities is the method to poll: 12 a minute.
    updated = (
        "<pointOfSalesId>2001</pointOfSalesId><referenceDate>2026-08-01T00:00:00Z</referenceDate>"
    )
    for _ in range(12):
        assert (
            soap_call(
                limited, "AvailabilityService", "getUpdatedAvailabilities", updated
            ).status_code
            == 200
        )
    refused(soap_call(limited, "AvailabilityService", "getUpdatedAvailabilities", updated))


def test_catalog_detailed_once_per_ten_minutes(limited):
    limited.admin.freeze_clock()
    assert soap_call(limited, "CatalogService", "getCatalogDetailed").status_code == 200
    assert refused(soap_call(limited, "CatalogService", "getCatalogDetailed")) == 600
    limited.admin.advance_clock(599)
    assert refused(soap_call(limited, "CatalogService", "getCatalogDetailed")) == 1
    limited.admin.advance_clock(1)
    assert soap_call(limited, "CatalogService", "getCatalogDetailed").status_code == 200


def test_180_calls_per_minute_per_partner_across_services(limited):
    limited.admin.freeze_clock()
    session = requests.Session()
    body = envelope(ns.CATALOG.tns, "isCatalogServiceAlive", login=P1).encode()
    url = limited.url("CatalogService")
    for _ in range(179):
        assert session.post(url, data=body, headers={"Content-Type": "text/xml"}).status_code == 200
    assert perf_availability(limited).status_code == 200  # the 180th, another service
    assert refused(session.post(url, data=body, headers={"Content-Type": "text/xml"})) == 60
    r = soap_call(limited, "CatalogService", "getLastSetupUpdate")
    assert refused(r) == 60
    assert soap_call(limited, "CatalogService", "getLastSetupUpdate", login=P2).status_code == 200


def test_509_is_selectable(limited):
    limited.admin.set_rate_limits("s360", http_status=509)
    assert perf_availability(limited).status_code == 200
    refused(perf_availability(limited), status=509)


def test_a_refused_call_changes_nothing(limited):
    limited.admin.freeze_clock()
    limited.admin.set_rate_limits(
        {
            "policies": [
                {
                    "name": "orders",
                    "operations": ["createOrUpdateOrder"],
                    "limit": 1,
                    "windowSeconds": 60,
                }
            ]
        }
    )
    facade = limited.soap_client("ExternalOrderFacade")
    av = limited.soap_client("AvailabilityService")

    def free():
        res = av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10003])
        return res.performanceAvailabilities[0].available

    attribution = {
        "performanceId": 10003,
        "seatCategoryId": 4001,
        "audienceSubCategoryId": 101,
        "quantity": 2,
    }
    ops = [{"operationAttributions": [attribution]}]
    first = facade.service.createOrUpdateOrder(
        pointOfSalesId=2001, singleEntryAttributionOperations=ops
    )
    assert first.statusCode == "success"
    before_free = free()
    before_snapshot = limited.admin.audit()
    counters = limited.admin.rate_limit_counters()["counters"]
    with pytest.raises(zeep.exceptions.Fault):
        facade.service.createOrUpdateOrder(
            pointOfSalesId=2001, singleEntryAttributionOperations=ops
        )
    assert free() == before_free
    assert limited.admin.audit() == before_snapshot
    assert limited.admin.rate_limit_counters()["counters"] == counters  # not even counted
    from sqlalchemy import func, select

    from mock_server.store import schema

    with limited.sim.store.read() as conn:
        open_orders = conn.execute(
            select(func.count()).where(schema.sale_order.c.partner_id.is_not(None))
        ).scalar_one()
    assert open_orders == 1
    rejected = limited.admin.journal(operation="createOrUpdateOrder", outcome="rate-limited")[
        "entries"
    ]
    assert len(rejected) == 1 and rejected[0]["httpStatus"] == 429


def test_unauthenticated_calls_are_not_counted(limited):
    for _ in range(3):
        r = perf_availability(limited, login=("DEMO_PARTNER1", "wrong"))
        assert r.status_code == 500
    assert perf_availability(limited).status_code == 200
    outcomes = [e["outcome"] for e in limited.admin.journal(partner="DEMO_PARTNER1")["entries"]]
    assert outcomes == ["fault:Client.Authentication"] * 3 + ["success"]


def test_arguments_key_limits_identical_calls_only(limited):
    limited.admin.set_rate_limits(
        {
            "policies": [
                {
                    "name": "same-question",
                    "operations": ["AvailabilityService.*"],
                    "limit": 1,
                    "windowSeconds": 30,
                    "key": "partner+operation+arguments",
                }
            ]
        }
    )
    assert perf_availability(limited, performance=10003).status_code == 200
    assert perf_availability(limited, performance=10004).status_code == 200
    assert refused(perf_availability(limited, performance=10003)) <= 30
    # requestId is not an argument: a new request id does not make a new question
    r = soap_call(
        limited,
        "AvailabilityService",
        "getPerformanceAvailability",
        "<requestId>abc</requestId><pointOfSalesId>2001</pointOfSalesId><performanceIds>10004</performanceIds>",
    )
    refused(r)


def test_partners_restricted_policy(limited):
    limited.admin.set_rate_limits(
        {
            "policies": [
                {"name": "p2-only", "partners": ["DEMO_PARTNER2"], "limit": 0, "windowSeconds": 5}
            ]
        }
    )
    assert soap_call(limited, "CatalogService", "isCatalogServiceAlive").status_code == 200
    assert refused(soap_call(limited, "CatalogService", "isCatalogServiceAlive", login=P2)) == 5


def test_counters_reset_opens_every_limit(limited):
    assert perf_availability(limited).status_code == 200
    refused(perf_availability(limited))
    assert limited.admin.reset_rate_limit_counters()["deleted"] >= 2
    assert limited.admin.rate_limit_counters()["counters"] == []
    assert perf_availability(limited).status_code == 200


def test_off_turns_every_limit_off(limited):
    limited.admin.set_rate_limits("off")
    assert limited.admin.rate_limits() == {"enabled": False, "httpStatus": 429, "policies": []}
    for _ in range(3):
        assert perf_availability(limited).status_code == 200


def test_setting_the_clock_back_forgets_calls_not_made_yet(limited):
    limited.admin.freeze_clock("2026-09-01T10:00:00Z")
    assert perf_availability(limited).status_code == 200
    limited.admin.set_clock("2026-09-01T09:00:00Z")
    assert perf_availability(limited).status_code == 200  # the 10:00 call has not happened yet


def test_concurrent_callers_cannot_overshoot(limited):
    limited.admin.set_rate_limits(
        {"policies": [{"name": "five", "limit": 5, "windowSeconds": 60, "key": "partner"}]}
    )
    body = envelope(ns.CATALOG.tns, "isCatalogServiceAlive", login=P1).encode()
    url = limited.url("CatalogService")

    def call(_):
        return requests.post(url, data=body, headers={"Content-Type": "text/xml"}).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(call, range(30)))
    assert statuses.count(200) == 5 and statuses.count(429) == 25


def test_policy_documents_are_validated():
    with pytest.raises(PolicyError) as info:
        ratelimit.RateLimitConfig.from_json(
            {
                "policies": [
                    {"name": "a", "limit": -1, "windowSeconds": 0},
                    {"name": "a", "limit": 1, "windowSeconds": 1},
                ]
            }
        )
    paths = [p for p, _ in info.value.problems]
    assert "$['policies'][0]['limit']" in paths and "$['policies'][0]['windowSeconds']" in paths
    with pytest.raises(PolicyError, match="duplicate policy name"):
        ratelimit.RateLimitConfig.from_json(
            {
                "policies": [
                    {"name": "a", "limit": 1, "windowSeconds": 1},
                    {"name": "a", "limit": 1, "windowSeconds": 1},
                ]
            }
        )


def test_policy_file_round_trip(tmp_path):
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(ratelimit.S360_DOCUMENT))
    assert ratelimit.resolve(str(path)) == ratelimit.preset("s360")
    assert ratelimit.preset("s360").to_json() == ratelimit.S360_DOCUMENT
    with pytest.raises(PolicyError, match="cannot read"):
        ratelimit.resolve(str(tmp_path / "missing.json"))


def test_admin_refuses_a_bad_policy_document(limited):
    with pytest.raises(AdminError) as info:
        limited.admin.set_rate_limits(
            {"policies": [{"name": "x", "limit": 1, "windowSeconds": 1, "key": "nope"}]}
        )
    assert info.value.status == 400
    assert info.value.payload["problems"][0]["path"] == "$['policies'][0]['key']"


def test_serve_refuses_a_bad_policy_file(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    bad = tmp_path / "limits.json"
    bad.write_text('{"policies": [{"name": "x", "limit": 1}]}')
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mock_server.cli",
            "serve",
            "--port",
            "0",
            "--rate-limits",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert r.returncode == 2
    assert "$['policies'][0]: 'windowSeconds' is a required property" in r.stderr


def test_sliding_log_counts_stay_exact(limited):
    """The per-key counts kept beside the log agree with the log through expiry,
    clock moves back and global prunes."""
    from sqlalchemy import func, select

    from mock_server.store.control_schema import control_rate_hit, control_rate_key

    control = limited.sim.control
    limited.admin.set_rate_limits(
        {
            "policies": [
                {"name": "three", "limit": 3, "windowSeconds": 10, "key": "partner+operation"}
            ]
        }
    )
    limited.admin.freeze_clock("2026-09-01T10:00:00Z")

    def admit(op="op"):
        return control.admit("P", "S", op, lambda: "").rejection

    outcomes = []
    for step in range(25):  # a call every 1.5 s: at most 3 in any 10 s
        outcomes.append(admit() is None)
        admit(f"other{step % 2}")
        limited.admin.advance_clock(1.5)
    model: list[float] = []  # a reference sliding log
    expected = []
    for step in range(25):
        t = step * 1.5
        ok = len([a for a in model if a > t - 10]) < 3
        expected.append(ok)
        if ok:
            model.append(t)
    assert outcomes == expected and outcomes.count(True) == 12
    limited.admin.set_clock("2026-09-01T10:00:20Z")  # back: later calls have not happened yet
    admit()
    with limited.sim.store.transaction() as conn:
        from mock_server.core import ratelimit

        ratelimit.prune(conn, control.rate_limits, control.clock.now_ms())
    with limited.sim.store.read() as conn:
        kept = dict(conn.execute(select(control_rate_key.c.key, control_rate_key.c.count)).all())
        actual = dict(
            conn.execute(
                select(control_rate_hit.c.key, func.count()).group_by(control_rate_hit.c.key)
            ).all()
        )
    assert {k: v for k, v in kept.items() if v} == actual
