"""The integration rules R1..R8 on hand-written journals: each passes a clean journal
and reports the entry that breaks it, with its thresholds configurable."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.rules import RuleConfig, RuleContext, check_rules, rule_r6

T0 = 1_788_249_600_000


class Journal:
    """Builds journal entries as GET /_mock/journal answers them."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(
        self,
        at: float,
        operation: str,
        params: dict[str, Any] | None = None,
        outcome: str = "success",
        http: int | None = 200,
        **result: Any,
    ) -> dict[str, Any]:
        entry = {
            "id": len(self.entries) + 1,
            "timeMs": T0 + int(at * 1000),
            "operation": operation,
            "service": "S",
            "params": params or {},
            "outcome": outcome,
            "httpStatus": http,
            "result": {"statusCode": outcome, **result} if outcome != "rate-limited" else result,
        }
        self.entries.append(entry)
        return entry


def clean(j: Journal, at: float = 0, order_id: int = 20, ref: str = "R-1") -> None:
    """The reference flow: POS, catalog, availability, order, close."""
    j.add(at, "getPOSConfig")
    j.add(at + 1, "getLastSetupUpdate", lastUpdate="2026-08-31T18:00:00Z")
    j.add(at + 2, "getCatalogDetailed")
    j.add(
        at + 3, "getPerformanceAvailability", {"pointOfSalesId": "2001", "performanceIds": "10003"}
    )
    j.add(
        at + 4,
        "createOrUpdateOrder",
        {"pointOfSalesId": "2001", "performanceId": "10003", "externalReference": ref},
        orderId=order_id,
        orderState="OPEN",
        totalAmount=240000,
    )
    j.add(
        at + 5,
        "closeOrder",
        {
            "orderId": str(order_id),
            "totalAmount": "240000",
            "paymentMethodId": "501",
            "amount": "240000",
        },
        orderId=order_id,
        orderState="CLOSED",
    )


CTX = RuleContext(pos_id=2001, payment_methods={501}, performance_products={10003: 8001})


def failed(j: Journal, config: RuleConfig | None = None, ctx: RuleContext = CTX) -> list[str]:
    return check_rules(j.entries, config, ctx).failed_rules


def test_the_reference_flow_passes_every_rule() -> None:
    j = Journal()
    clean(j)
    report = check_rules(j.entries, context=CTX)
    assert report.passed, report.text()
    assert "R8 pass" in report.text()


def test_r1_refetch_only_after_a_setup_change_or_a_day() -> None:
    j = Journal()
    clean(j)
    j.add(100, "getCatalogDetailed")
    assert failed(j) == ["R1"]
    j = Journal()
    clean(j)
    j.add(50, "getLastSetupUpdate", lastUpdate="2026-09-01T09:00:00Z")  # changed
    j.add(100, "getCatalogDetailed")
    assert failed(j) == []
    j = Journal()
    clean(j)
    j.add(90_000, "getCatalogDetailed")  # more than a day later
    assert failed(j) == []
    # without lastUpdate in the journal, the harness's own setup changes tell
    j = Journal()
    clean(j)
    j.add(50, "getLastSetupUpdate")
    j.add(100, "getCatalogDetailed")
    ctx = RuleContext(**{**CTX.__dict__, "setup_changes_ms": [T0 + 40_000]})
    j.entries[1]["result"].pop("lastUpdate")
    assert failed(j, ctx=ctx) == []


def test_r2_once_a_minute_and_updated_availabilities_between_polls() -> None:
    j = Journal()
    clean(j)
    j.add(30, "getPerformanceAvailability", {"performanceIds": "10003"})
    (violation,) = check_rules(j.entries, context=CTX).violations
    assert violation.rule == "R2" and "once per 60 s" in violation.explanation
    j = Journal()
    clean(j)
    j.add(120, "getPerformanceAvailability", {"performanceIds": "10003"})
    assert failed(j) == ["R2"]  # polled again without getUpdatedAvailabilities
    j.entries.insert(-1, {**j.entries[0], "id": 99, "operation": "getUpdatedAvailabilities"})
    j.entries[-2]["timeMs"] = T0 + 110_000
    j.entries[-1]["id"] = 100
    assert failed(j) == []
    assert failed(Journal(), RuleConfig(refresh_window_s=0)) == []
    # a failed call is no poll; the follow-up of an in_progress answer is no poll either
    j = Journal()
    j.add(
        0, "getPerformanceAvailability", {"performanceIds": "1"}, outcome="fault:Server", http=500
    )
    j.add(1, "getPerformanceAvailability", {"performanceIds": "1"}, outcome="in_progress")
    j.add(2, "getPerformanceAvailability", {"performanceIds": "1"})
    assert failed(j) == []


def test_r3_an_availability_check_shortly_before_each_order() -> None:
    j = Journal()
    clean(j)
    j.entries[3]["timeMs"] = T0 - 400_000  # the check was 400 s before the order
    (violation,) = check_rules(j.entries, context=CTX).violations
    assert violation.rule == "R3" and "performance 10003" in violation.explanation
    assert failed(j, RuleConfig(check_max_age_s=600)) == []
    j = Journal()
    clean(j)
    del j.entries[3]  # no check at all
    assert failed(j) == ["R3"]
    j = Journal()
    clean(j)
    j.entries[3]["operation"] = "getProductAvailability"  # a check of its product counts
    j.entries[3]["params"] = {"productIds": "8001"}
    assert failed(j) == []


def test_r4_pos_config_first_and_its_values() -> None:
    j = Journal()
    clean(j)
    del j.entries[0]
    assert failed(j) == ["R4"]
    j = Journal()
    clean(j)
    j.entries[-1]["params"]["paymentMethodId"] = "502"
    assert failed(j) == ["R4"]
    j = Journal()
    clean(j)
    j.entries[4]["params"]["pointOfSalesId"] = "2002"
    assert failed(j) == ["R4"]


def test_r5_every_order_closed_or_cancelled_before_it_expires() -> None:
    j = Journal()
    clean(j)
    del j.entries[-1]
    assert failed(j) == ["R5"]
    j.add(100, "cancelOperations", {"orderId": "20"}, orderId=20, orderState="CANCELLED")
    assert failed(j) == []
    j = Journal()
    clean(j)
    j.entries[-1]["timeMs"] = T0 + 1000 * 1000  # closed after 15 minutes
    assert failed(j) == ["R5"]
    jumped = RuleContext(**{**CTX.__dict__, "clock_jumps": [(T0 + 10_000, T0 + 2_000_000)]})
    assert failed(j, ctx=jumped) == []  # the harness moved the clock past the expiry


def test_r6_no_call_before_retry_after() -> None:
    j = Journal()
    j.add(0, "getPerformanceAvailability", outcome="rate-limited", http=429, retryAfter=30)
    j.add(10, "getPerformanceAvailability")
    j.add(11, "getPOSConfig")  # another operation: allowed
    (violation,) = rule_r6(j.entries, RuleConfig(), CTX)
    assert violation.entry["id"] == 2 and "Retry-After 30" in violation.explanation
    assert len(rule_r6(j.entries, RuleConfig(retry_after_scope="partner"), CTX)) == 2
    assert rule_r6(j.entries, RuleConfig(retry_after_tolerance_s=25), CTX) == []
    j.entries[1]["timeMs"] = T0 + 30_000
    assert rule_r6(j.entries, RuleConfig(), CTX) == []


def test_r7_close_amount_is_the_order_total() -> None:
    j = Journal()
    clean(j)
    j.entries[-1]["params"]["totalAmount"] = "24000"
    assert failed(j) == ["R7"]
    j = Journal()
    clean(j)
    j.entries[-1]["params"]["amount"] = ["200000", "20000"]  # payments do not add up
    assert failed(j) == ["R7"]
    j = Journal()
    clean(j)
    j.entries[-1]["outcome"] = "error.order.amount"
    assert "R7" in failed(j)


def test_r8_a_retry_after_a_lost_reply_makes_no_second_order() -> None:
    j = Journal()
    j.add(0, "getPOSConfig")
    j.add(1, "getPerformanceAvailability", {"performanceIds": "10003"})
    params = {"pointOfSalesId": "2001", "performanceId": "10003", "externalReference": "A"}
    j.add(2, "createOrUpdateOrder", params, http=None, orderId=20, replyLost=True)
    j.add(3, "createOrUpdateOrder", {**params, "externalReference": "B"}, orderId=21)
    j.add(4, "closeOrder", {"orderId": "21", "totalAmount": "1"}, orderId=21, orderState="CLOSED")
    report = check_rules(j.entries, context=CTX)
    assert report.failed_rules == ["R8"], report.text()  # R5 does not blame the orphan twice
    assert "externalReference" in report.violations[0].explanation
    j.entries[3]["params"]["externalReference"] = "A"
    j.entries[3]["result"]["orderId"] = 20
    j.entries[4]["params"]["orderId"] = "20"
    assert check_rules(j.entries, context=CTX).passed


@pytest.mark.parametrize("rule", ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"])
def test_rules_can_be_chosen(rule: str) -> None:
    report = check_rules([], RuleConfig(rules=(rule,)))
    assert [r.rule for r in report.results] == [rule] and report.passed
