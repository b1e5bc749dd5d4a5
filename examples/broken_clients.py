"""Deliberately broken variants of the reference client, one per integration rule.

Each breaks exactly one rule (R1..R8, contract_tests/rules.py) the way real
integrations do; the contract harness must catch each and name that rule. They
prove the rules bite: a rule no broken client can fail is not a rule.

    S360_URL=http://127.0.0.1:8360 python examples/broken_clients.py R3
    s360-mock contract client --cmd 'python examples/broken_clients.py R3'   # fails R3

``BROKEN["R3"]`` is the callable form: ``BROKEN["R3"](env) -> bool``.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_client import (  # noqa: E402 - after the path set-up, for running as a script
    PurchaseFailed,
    ReferenceClient,
    Task,
    run,
)


class RefetchesCatalog(ReferenceClient):
    """R1: fetches the catalog again for the chosen product's prices, although
    getLastSetupUpdate did not change (and waits out the 10-minute limit to do so)."""

    def performance(self, catalog: Any) -> tuple[Any, dict[int, str]]:
        perf, tariffs = super().performance(catalog)
        fresh = self.ok(self.call("getCatalogDetailed"), "getCatalogDetailed").catalogData
        return super().performance(fresh)[0], tariffs


class PollsAvailabilityTwice(ReferenceClient):
    """R2: checks availability to choose, then "double-checks" with the same method
    right before ordering (and waits out the rate limit to do so)."""

    def purchase(self) -> list[str]:
        self.availability()
        return super().purchase()


class SkipsAvailabilityCheck(ReferenceClient):
    """R3: orders from the catalog alone, without checking availability."""

    def availability(self) -> Any:
        class Unknown:
            availabilityLevel = "UNKNOWN"
            seatCategoryAvailabilities: list[Any] = []

        return Unknown()

    def choose(self, perf: Any, tariffs: dict[int, str], availability: Any) -> tuple[int, int, int]:
        for price in perf.prices or []:
            if tariffs.get(price.audSubCatId) == "FULL":
                return price.seatCatId, price.audSubCatId, int(price.amount)
        raise PurchaseFailed("no FULL price")


class HardCodesPointOfSales(ReferenceClient):
    """R4: never calls getPOSConfig; point of sales 2001 and payment method 501 copied
    from the documentation."""

    def point_of_sales(self) -> Any:
        class Copied:
            posId = 2001

        return Copied()

    def pending_method(self) -> int:
        return 501


class WalksAwayFromOrders(ReferenceClient):
    """R5: when closeOrder fails, gives up without cancelling the order (its seats stay
    held until it expires)."""

    def call(self, operation: str, **params: Any) -> Any:
        if operation == "closeOrder":  # one attempt, no clean-up
            try:
                return getattr(self.services["ExternalOrderService"], operation)(**params)
            except Exception as error:  # noqa: BLE001
                raise PurchaseFailed(f"closeOrder: {error}") from None
        return super().call(operation, **params)

    def cancel(self, order: Any) -> None:
        return None


class IgnoresRetryAfter(ReferenceClient):
    """R6: after a rate-limited reply, retries after one second instead of Retry-After."""

    def _retry_after(self, fault: Any) -> float:
        return 0.0


class PaysInCents(ReferenceClient):
    """R7: sends the amount in cents instead of thousandths (cancels the refused order)."""

    def close_order(self, order: Any) -> Any:
        cents = order.totalAmount // 10
        r = self.call(
            "closeOrder",
            orderId=order.orderId,
            payments=[{"paymentMethodId": self.pending_method(), "amount": cents}],
            totalAmount=cents,
        )
        return self.ok(r, "closeOrder").orderData


class NewReferenceOnRetry(ReferenceClient):
    """R8: after a lost reply, retries createOrUpdateOrder with a new externalReference
    (so the platform cannot know it is the same purchase)."""

    def call(self, operation: str, **params: Any) -> Any:
        if operation != "createOrUpdateOrder":
            return super().call(operation, **params)
        for _ in range(3):
            params["externalReference"] = f"REF-{uuid.uuid4().hex[:20]}"
            try:
                return getattr(self.services["ExternalOrderFacade"], operation)(**params)
            except Exception as error:  # noqa: BLE001
                self.log(f"createOrUpdateOrder: {type(error).__name__}; retrying")
                self.sleep(1)
        raise PurchaseFailed("createOrUpdateOrder: gave up")


VARIANTS: dict[str, type[ReferenceClient]] = {
    "R1": RefetchesCatalog,
    "R2": PollsAvailabilityTwice,
    "R3": SkipsAvailabilityCheck,
    "R4": HardCodesPointOfSales,
    "R5": WalksAwayFromOrders,
    "R6": IgnoresRetryAfter,
    "R7": PaysInCents,
    "R8": NewReferenceOnRetry,
}


def _runner(cls: type[ReferenceClient]) -> Callable[[Any], bool]:
    def client(env: Any) -> bool:
        return run(env, cls)

    client.__name__ = cls.__name__
    client.__doc__ = cls.__doc__
    return client


BROKEN: dict[str, Callable[[Any], bool]] = {rule: _runner(cls) for rule, cls in VARIANTS.items()}


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in VARIANTS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(VARIANTS)}}}")
    sys.exit(0 if run(Task.from_environ(), VARIANTS[sys.argv[1]]) else 1)
