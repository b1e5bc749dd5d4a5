"""What the simulator does to a partner client: fault plans and their strategies.

A :class:`Scenario` is one purchase task (performance, quantity) plus a plan of
faults. Each :class:`Fault` is installed through the control plane before the
client runs (``install``), or acted on while it runs (``expiry``: the clock is
moved past the order's expiry once it exists).

=================  ============================================================================
``rate_limit``     the operation's next call is refused: HTTP 429, ``Retry-After: window``
``soap_fault``     a SOAP fault ``Server.InjectedFault`` (HTTP 500); the operation does not run
``http_error``     HTTP 502/503/504 with a SOAP ``Server`` fault; the operation does not run
``latency``        ``detail`` ms of real delay
``in_progress``    the result says ``in_progress``: call again with its requestId
``drop``           the connection closes without a reply; the operation does not run
``reply_lost``     the operation runs and commits, then the reply is lost (dropped connection)
``after_payment``  closeOrder fails after booking the payment, before the tickets
``sold_out``       the box office sells every free seat of the performance before the run
``sold_out_race``  createOrUpdateOrder answers ``error.order.availability`` (sold between
                   the availability check and the order)
``expiry``         the clock jumps past orderAbandonDelay once the order exists
=================  ============================================================================
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from hypothesis import strategies as st

FLOW_OPERATIONS = (
    "getPOSConfig",
    "getLastSetupUpdate",
    "getCatalogDetailed",
    "getPerformanceAvailability",
    "getEventAvailability",
    "getUpdatedAvailabilities",
    "createOrUpdateOrder",
    "closeOrder",
    "getOrderDetails",
)
RATE_LIMITED_OPERATIONS = (
    "getPerformanceAvailability",
    "getCatalogDetailed",
    "createOrUpdateOrder",
    "closeOrder",
    "getPOSConfig",
    "getEventAvailability",
)
KINDS = (
    "rate_limit",
    "soap_fault",
    "http_error",
    "latency",
    "in_progress",
    "drop",
    "reply_lost",
    "after_payment",
    "sold_out",
    "sold_out_race",
    "expiry",
)


@dataclass(frozen=True)
class Fault:
    kind: str
    operation: str | None = None
    detail: int = 0  # rate_limit: window s; http_error: status; latency: ms

    def describe(self) -> str:
        where = f" on {self.operation}" if self.operation else ""
        extra = {
            "rate_limit": f" (Retry-After {self.detail} s)",
            "http_error": f" (HTTP {self.detail})",
            "latency": f" ({self.detail} ms)",
        }.get(self.kind, "")
        return f"{self.kind}{where}{extra}"


@dataclass(frozen=True)
class Scenario:
    """One purchase task and what the simulator does to it."""

    performance_id: int
    quantity: int
    faults: tuple[Fault, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        plan = "; ".join(f.describe() for f in self.faults) or "no faults"
        return f"buy {self.quantity} seat(s) of performance {self.performance_id}; {plan}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        data: dict[str, Any] = json.loads(text)
        return cls(
            int(data["performance_id"]),
            int(data["quantity"]),
            tuple(Fault(**f) for f in data.get("faults", [])),
        )


# --- strategies (named as plural nouns) -----------------------------------------------------
def faults() -> st.SearchStrategy[Fault]:
    """Any one fault of the plan kinds."""
    return st.one_of(
        st.builds(
            Fault,
            st.just("rate_limit"),
            st.sampled_from(RATE_LIMITED_OPERATIONS),
            st.sampled_from((60, 30, 120)),
        ),
        st.builds(Fault, st.just("soap_fault"), st.sampled_from(FLOW_OPERATIONS)),
        st.builds(
            Fault,
            st.just("http_error"),
            st.sampled_from(FLOW_OPERATIONS),
            st.sampled_from((503, 502, 504)),
        ),
        st.builds(Fault, st.just("latency"), st.sampled_from(FLOW_OPERATIONS), st.integers(5, 50)),
        st.builds(Fault, st.just("in_progress"), st.sampled_from(FLOW_OPERATIONS)),
        st.builds(Fault, st.just("drop"), st.sampled_from(FLOW_OPERATIONS)),
        st.builds(
            Fault, st.just("reply_lost"), st.sampled_from(("createOrUpdateOrder", "closeOrder"))
        ),
        st.builds(Fault, st.just("after_payment"), st.just("closeOrder")),
        st.builds(Fault, st.just("sold_out")),
        st.builds(Fault, st.just("sold_out_race"), st.just("createOrUpdateOrder")),
        st.builds(Fault, st.just("expiry")),
    )


def fault_plans(max_faults: int = 3) -> st.SearchStrategy[tuple[Fault, ...]]:
    return st.lists(faults(), max_size=max_faults).map(tuple)


def scenarios(
    performances: tuple[int, ...], quantities: tuple[int, int] = (1, 4), max_faults: int = 3
) -> st.SearchStrategy[Scenario]:
    return st.builds(
        Scenario,
        st.sampled_from(performances),
        st.integers(*quantities),
        fault_plans(max_faults),
    )


def key_scenarios(performance_id: int, quantity: int = 2) -> list[Scenario]:
    """Run before the generated ones: no fault, then one fault of each kind that a rule
    is about (the smallest plans that can break a client)."""
    one = [
        Fault("rate_limit", "getPerformanceAvailability", 60),
        Fault("reply_lost", "createOrUpdateOrder"),
        Fault("soap_fault", "closeOrder"),
        Fault("after_payment", "closeOrder"),
        Fault("in_progress", "getPerformanceAvailability"),
        Fault("sold_out"),
        Fault("expiry"),
    ]
    return [Scenario(performance_id, quantity)] + [
        Scenario(performance_id, quantity, (f,)) for f in one
    ]
