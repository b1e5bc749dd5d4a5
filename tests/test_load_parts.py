"""The load tests' parts that need no locust: envelopes, reply checks, discovery,
the load profile, thresholds and statistics. locust (gevent) is never imported here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from lxml import etree

from load_tests import runner, soap
from load_tests.config import ConfigError, Partner, load_config, parse_wait, parse_weights
from load_tests.discovery import discover
from mock_server.soap import namespaces as ns

ROOT = Path(__file__).resolve().parents[1]
PARTNERS = [
    Partner("DEMO_PARTNER1", "partner1-secret"),
    Partner("DEMO_PARTNER2", "partner2-secret"),
]


def test_the_runner_and_helpers_never_import_locust_or_gevent():
    code = (
        "import sys, mock_server.cli, load_tests.runner, load_tests.discovery, load_tests.soap;"
        "mock_server.cli.build_parser();"
        "bad = {'locust', 'gevent'} & {m.split('.')[0] for m in sys.modules};"
        "sys.exit(f'imported: {bad}' if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


# -- envelopes and reply checks ------------------------------------------------------------------
def test_envelopes_are_jax_ws_with_a_username_token():
    env = soap.Envelopes("DEMO_PARTNER1", "a<b&c")["ExternalOrderService.closeOrder"]
    body = env.build(soap.close_children("42", 501, "9000"))
    root = etree.fromstring(body)
    op = root.find(f"{{{soap.SOAP_ENV}}}Body/{{{ns.ORDER_SERVICE.tns}}}closeOrder")
    assert op is not None
    assert [c.tag for c in op] == ["orderId", "generateBarCodes", "payments", "totalAmount"]
    token = root.find(f".//{{{soap.WSSE}}}UsernameToken")
    assert token.findtext(f"{{{soap.WSSE}}}Password") == "a<b&c"  # escaped once, intact
    assert env.operation.path == ns.ORDER_SERVICE.path
    assert env.operation.label == "ExternalOrderService.closeOrder"


def test_every_operation_the_users_call_exists_on_the_simulator():
    from mock_server.soap.services import (
        AvailabilityService,
        CatalogService,
        ContactInformationPublicService,
        ExternalOrderFacade,
        ExternalOrderService,
    )

    served = {
        cls.__name__: set(cls.public_methods)
        for cls in (
            CatalogService,
            AvailabilityService,
            ExternalOrderFacade,
            ExternalOrderService,
            ContactInformationPublicService,
        )
    }
    for label, op in soap.ALL_OPERATIONS.items():
        assert op.name in served[op.service.name], label


@pytest.mark.parametrize(
    ("status", "text", "kind", "reason"),
    [
        (200, "<r><statusCode>success</statusCode></r>", "ok", ""),
        (200, "<r><statusCode>error.order.availability</statusCode></r>", "business", ""),
        (200, "<r><statusCode>error.order.state</statusCode></r>", "status", "statusCode error.order.state"),
        (200, "<html>hello</html>", "http", "HTTP 200 without a statusCode"),
        (429, "<faultcode>soap:Client.RateLimitExceeded</faultcode>", "rate_limited", "HTTP 429 rate limited"),
        (509, "", "rate_limited", "HTTP 509 rate limited"),
        (500, "<faultcode>soap11env:Client.ValidationError</faultcode>", "fault", "SOAP fault Client.ValidationError (HTTP 500)"),
        (502, "<html>bad gateway</html>", "http", "HTTP 502"),
        (0, "", "http", "no HTTP answer (connection error or timeout)"),
    ],
)  # fmt: skip
def test_replies_are_judged_cheaply(status, text, kind, reason):
    verdict = soap.classify(status, text, frozenset({soap.SOLD_OUT}))
    assert (verdict.kind, verdict.reason) == (kind, reason)
    assert verdict.ok == (kind in ("ok", "business"))


def test_a_prefixed_status_code_is_read_too():
    assert soap.classify(200, "<ns2:statusCode>success</ns2:statusCode>").kind == "ok"
    assert soap.first("orderId", "<a><orderId>7</orderId><orderId>8</orderId></a>") == "7"
    assert soap.every("barcode", "<barcode>1</barcode><x/><barcode>2</barcode>") == ["1", "2"]


# -- discovery against a real simulator ---------------------------------------------------------
def test_discovery_finds_points_of_sales_and_what_is_on_sale(fresh):
    views = discover(fresh.base_url, PARTNERS)
    assert [(v.login, v.pos_id, v.payment_method_id) for v in views] == [
        ("DEMO_PARTNER1", 2001, 501),
        ("DEMO_PARTNER2", 2002, 501),
    ]
    view = views[0]
    performances = set(view.performance_ids)
    assert {10001, 10003, 10004, 10013} <= performances  # on sale in the default dataset
    assert not {10002, 10005, 10008, 10011} & performances  # sold out, not yet, suspended, hidden
    assert 8001 in view.product_ids and view.event_ids
    assert all(o.tariff_ids and o.available > 0 for o in view.offers)
    assert len(view.offer_weights) == len(view.offers)
    first, last = view.offers[0], view.offers[-1]
    assert first.performance_id < last.performance_id
    assert view.offer_weights[0] > view.offer_weights[-1]  # popular first


def test_the_prebuilt_envelopes_are_accepted(fresh):
    """One sale with the exact bytes the buyers send."""
    view = discover(fresh.base_url, PARTNERS[:1])[0]
    env = view.envelopes
    assert env is not None
    offer = next(o for o in view.offers if o.performance_id == 10003)

    def post(label: str, children: str) -> str:
        e = env[label]
        r = requests.post(
            fresh.base_url + e.operation.path, data=e.build(children), headers=soap.HEADERS
        )
        verdict = soap.classify(r.status_code, r.text)
        assert verdict.kind == "ok", (label, verdict, soap.detail(r.text))
        return r.text

    created = post(
        "ExternalOrderFacade.createOrUpdateOrder",
        soap.order_children(view.pos_id, 10003, offer.seat_category_id, offer.tariff_ids[0], 2),
    )
    order_id, total = soap.first("orderId", created), soap.first("totalAmount", created)
    closed = post(
        "ExternalOrderService.closeOrder",
        soap.close_children(order_id, view.payment_method_id, total),
    )
    assert len(soap.every("barcode", closed)) == 2
    criteria = soap.criteria_children({"NEWSLETTER": "true"})
    made = post(
        "ContactInformationPublicService.createCulturalContact",
        soap.contact_children("Lena", "Load", "lena.load@example.org", "Bern", criteria),
    )
    assert soap.first("contactNumber", made)


# -- the load profile ---------------------------------------------------------------------------
def test_the_default_profile_has_the_demo_partners_and_four_kinds():
    config = load_config({})
    assert [p.login for p in config.partners] == ["DEMO_PARTNER1", "DEMO_PARTNER2"]
    assert config.user_classes() == [
        "CatalogSyncUser",
        "AvailabilityMonitorUser",
        "BuyerUser",
        "ContactManagerUser",
    ]
    assert config.on_429 == "fail"


def test_environment_variables_override_a_profile_file(tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"buyer": {"maxQuantity": 2}, "weights": {"contacts": 0}}))
    config = load_config(
        {
            "S360_LOAD_CONFIG": str(profile),
            "S360_LOAD_PARTNERS": "PARTNER3:partner3-secret",
            "S360_LOAD_WEIGHTS": "BuyerUser=3,availability=0",
            "S360_LOAD_WAIT": "buyer=0-0.5,catalog=2",
            "S360_LOAD_ON_429": "ignore",
        }
    )
    assert [p.login for p in config.partners] == ["PARTNER3"]
    assert config.weights == {"catalog": 1, "availability": 0, "buyer": 3, "contacts": 0}
    assert config.user_classes() == ["CatalogSyncUser", "BuyerUser"]
    assert config.wait("buyer") == (0.0, 0.5) and config.wait("catalog") == (2.0, 2.0)
    assert config.section("buyer")["maxQuantity"] == 2
    assert config.section("buyer")["closeRatio"] == 0.8  # the rest of the section kept
    assert config.on_429 == "ignore"


@pytest.mark.parametrize(
    "env",
    [
        {"S360_LOAD_WEIGHTS": "seller=1"},
        {"S360_LOAD_WEIGHTS": "buyer=-1"},
        {"S360_LOAD_WEIGHTS": "catalog=0,availability=0,buyer=0,contacts=0"},
        {"S360_LOAD_WAIT": "buyer=2-1"},
        {"S360_LOAD_PARTNERS": "NOPASSWORD"},
        {"S360_LOAD_ON_429": "retry"},
    ],
)
def test_a_bad_profile_is_refused(env):
    with pytest.raises(ConfigError):
        load_config(env)


def test_a_profile_file_with_an_unknown_key_is_refused(tmp_path):
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"buyer": {"maxQty": 2}}))
    with pytest.raises(ConfigError, match=r"buyer\.maxQty"):
        load_config({"S360_LOAD_CONFIG": str(profile)})


def test_weights_and_waits_parse():
    assert parse_weights("buyer=6, ContactManagerUser=0") == {"buyer": 6, "contacts": 0}
    assert parse_wait("availability=0.5-2") == {"availability": [0.5, 2.0]}


# -- runner: arguments, thresholds, statistics --------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("30s", 30), ("2m", 120), ("1h30m", 5400), ("1m5s", 65)]
)
def test_durations(text, seconds):
    assert runner.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "5x", "m"])
def test_bad_durations(text):
    with pytest.raises(runner.UsageError):
        runner.parse_duration(text)


def test_only_loopback_hosts_are_targets_by_default(tmp_path, capsys):
    assert runner.is_loopback_url("http://127.0.0.1:8360")
    assert runner.is_loopback_url("http://localhost:8360/")
    assert runner.is_loopback_url("http://[::1]:8360")
    assert not runner.is_loopback_url("http://192.0.2.10:8360")
    status = runner.main(["--host", "http://192.0.2.10:8360", "--report-dir", str(tmp_path)])
    assert status == 2
    assert "not a loopback address" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # refused before anything was started or written


def test_a_bad_profile_stops_the_runner_before_it_starts(tmp_path, capsys):
    status = runner.main(["--weights", "seller=3", "--report-dir", str(tmp_path)])
    assert status == 2
    assert "unknown user kind 'seller'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_p95_limits_go_from_the_most_to_the_least_specific():
    limits = runner.Thresholds(
        p95_ms=runner.parse_p95(["closeOrder=500", "ExternalOrderService.getOrderDetails=200"])
    )
    assert limits.p95_for("ExternalOrderService.closeOrder") == 500
    assert limits.p95_for("ExternalOrderService.getOrderDetails") == 200
    assert limits.p95_for("CatalogService.getCatalogDetailed") == 3000  # a default
    assert limits.p95_for("CatalogService.getPOSConfig") == 1000  # "*"
    with pytest.raises(runner.UsageError):
        runner.parse_p95(["closeOrder"])


def _entry(name: str, times: dict[int, int], failures: int = 0) -> dict[str, object]:
    count = sum(times.values())
    return {
        "name": name,
        "method": "POST",
        "num_requests": count,
        "num_failures": failures,
        "total_response_time": sum(ms * n for ms, n in times.items()),
        "max_response_time": max(times),
        "response_times": {str(ms): n for ms, n in times.items()},
        "start_time": 1000.0,
        "last_request_timestamp": 1010.0,
    }


def test_statistics_thresholds_and_table(tmp_path):
    path = tmp_path / "locust_stats.json"
    close = _entry("ExternalOrderService.closeOrder", {10: 90, 20: 6, 900: 4}, failures=2)
    poll = _entry("CatalogService.getLastSetupUpdate", {5: 100})
    path.write_text(json.dumps([close, poll]))
    ops, total, duration = runner.read_stats(path)
    assert duration == 10
    by_name = {o.name: o for o in ops}
    closing = by_name["ExternalOrderService.closeOrder"]
    assert (closing.requests, closing.failures, closing.median_ms) == (100, 2, 10)
    assert closing.p95_ms == 20 and closing.p99_ms == 900 and closing.rps == 10
    assert (total.requests, total.failures, total.rps) == (200, 2, 20)
    checks = runner.evaluate(
        ops,
        total,
        runner.Thresholds(max_failure_ratio=0.005, min_rps=25, p95_ms={"*": 15}),
    )
    failed = {c.name for c in checks if not c.ok}
    assert failed == {"failure ratio", "requests/s", "p95 ms ExternalOrderService.closeOrder"}
    table = runner.format_table(ops, total)
    assert "ExternalOrderService.closeOrder" in table and "Total" in table


def test_failure_reasons_are_unwrapped(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(
        "Method,Name,Error,Occurrences\n"
        "POST,A.b,CatchResponseError('HTTP 429 rate limited'),3\n"
        'POST,A.c,"CatchResponseError(""statusCode error.order.state"")",7\n'
    )
    rows = runner.top_failures({}, path)
    assert [(r["name"], r["error"], r["occurrences"]) for r in rows] == [
        ("A.c", "statusCode error.order.state", 7),
        ("A.b", "HTTP 429 rate limited", 3),
    ]
    final = {"failures": [{"name": "A.b", "error": "CatchResponseError('x')", "occurrences": 4}]}
    assert runner.top_failures(final, path) == [{"name": "A.b", "error": "x", "occurrences": 4}]


def test_locust_command_lines(tmp_path):
    args = runner.build_parser().parse_args(["--processes", "2", "--users", "7"])
    main, workers = runner.locust_commands(
        args, "http://127.0.0.1:9", tmp_path, ["BuyerUser"], 7.0, 5599
    )
    assert main[-1] == "BuyerUser" and "--master" in main and "--headless" in main
    assert main[main.index("--expect-workers") + 1] == "2"
    assert len(workers) == 2 and all("--worker" in w for w in workers)
    assert workers[0][workers[0].index("--master-port") + 1] == "5599"
    single, none = runner.locust_commands(
        runner.build_parser().parse_args([]), "http://127.0.0.1:9", tmp_path, [], 10.0, 1
    )
    assert "--master" not in single and none == []
