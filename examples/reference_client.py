"""A reference S-360 partner client: one purchase, following every integration rule.

    S360_URL=http://127.0.0.1:8360 S360_PERFORMANCE_ID=10003 S360_QUANTITY=2 \\
        python examples/reference_client.py          # exit 0: tickets issued

It uses zeep and the public SOAP API only, and is the worked example of
docs/contract-testing.md and the contract harness's self-test. What it does, and
the rule (R1..R8, contract_tests/rules.py) each step honours:

1. ``getPOSConfig``: point of sales and the pending-account payment method, once
   per run, before any order (R4).
2. ``getLastSetupUpdate``, then ``getCatalogDetailed`` only if the setup changed
   since the cached copy (R1).
3. ``getPerformanceAvailability`` of the performance right before ordering (R3),
   each availability method at most once a minute (R2).
4. ``createOrUpdateOrder`` with an ``externalReference`` that names the purchase,
   so that a retry after a lost reply returns the same order (R8).
5. Checks the order's total against the catalog price; ``closeOrder`` with that
   total (R7), retried safely (a closed order answers the same tickets); if the
   purchase cannot be completed, the order is cancelled (R5).

Every call: a rate-limited reply (HTTP 429/509, ``Client.RateLimitExceeded``) is
retried after ``Retry-After`` (R6); a lost reply, a dropped connection, a
``Server`` fault or ``in_progress`` is retried a few times with back-off (an
availability method only after a minute). Waits are divided by
``S360_TIME_SPEED`` (1 in production; the contract harness speeds time up).

Environment: ``S360_URL``, ``S360_USER`` (DEMO_PARTNER1), ``S360_PASSWORD``
(partner1-secret), ``S360_PERFORMANCE_ID``, ``S360_QUANTITY`` (2),
``S360_TIME_SPEED`` (1). ``run(task) -> bool`` can be imported; ``task`` is any
object with ``url, user, password, performance_id, quantity`` and optionally
``sleep(seconds)`` (the harness's ``ClientEnv``).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests
import zeep
from zeep.exceptions import Fault, TransportError
from zeep.wsse.username import UsernameToken

PATHS = {
    "CatalogService": "/tnseb/external-remoting/com.secutix.service.realtime.catalog.v1_33.CatalogService.webservice",
    "AvailabilityService": "/tnseb/external-remoting/com.secutix.service.realtime.availability.v1_33.AvailabilityService.webservice",
    "ExternalOrderFacade": "/tnseb/external-remoting/com.secutix.service.realtime.externalorder.v1_33.ExternalOrderFacade.webservice",
    "ExternalOrderService": "/tnseb/external-remoting/com.secutix.service.realtime.externalorder.v1_33.ExternalOrderService.webservice",
}
SERVICE_OF = {
    "getPOSConfig": "CatalogService",
    "getLastSetupUpdate": "CatalogService",
    "getCatalogDetailed": "CatalogService",
    "getPerformanceAvailability": "AvailabilityService",
    "createOrUpdateOrder": "ExternalOrderFacade",
    "closeOrder": "ExternalOrderService",
    "getOrderDetails": "ExternalOrderService",
    "cancelOperations": "ExternalOrderService",
}
AVAILABILITY_METHODS = {"getPerformanceAvailability"}
AVAILABILITY_INTERVAL = 60  # seconds between two calls of one availability method
ATTEMPTS = 4


class PurchaseFailed(Exception):
    """The purchase cannot be completed (nothing is left held)."""


@dataclass
class Task:
    url: str
    user: str = "DEMO_PARTNER1"
    password: str = "partner1-secret"
    performance_id: int = 10003
    quantity: int = 2
    speed: float = 1.0

    @classmethod
    def from_environ(cls, environ: Any = os.environ) -> Task:
        return cls(
            url=environ.get("S360_URL", "http://127.0.0.1:8360"),
            user=environ.get("S360_USER", "DEMO_PARTNER1"),
            password=environ.get("S360_PASSWORD", "partner1-secret"),
            performance_id=int(environ.get("S360_PERFORMANCE_ID", "10003")),
            quantity=int(environ.get("S360_QUANTITY", "2")),
            speed=float(environ.get("S360_TIME_SPEED", "1")),
        )

    def sleep(self, seconds: float) -> None:
        # A real wait: a command client cannot move the clock; the harness runs the virtual
        # clock S360_TIME_SPEED times faster than real time, so waits are divided by it.
        time.sleep(seconds / self.speed)


class _Headers:
    """A zeep plugin that keeps the HTTP headers of the last reply (for Retry-After)."""

    def __init__(self) -> None:
        self.last: dict[str, str] = {}

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> Any:
        self.last = {}
        return envelope, http_headers

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> Any:
        self.last = {k.lower(): v for k, v in (http_headers or {}).items()}
        return envelope, http_headers


class ReferenceClient:
    def __init__(self, task: Any, log: Any = None) -> None:
        self.task = task
        self.sleep = getattr(task, "sleep", None) or (lambda s: time.sleep(s))
        self.log = log or (lambda message: print(message, file=sys.stderr))
        self.headers = _Headers()
        settings = zeep.Settings(strict=True, xml_huge_tree=True)
        login = UsernameToken(task.user, task.password)
        base = task.url.rstrip("/")
        self.services = {
            name: zeep.Client(
                base + path + "?wsdl", wsse=login, settings=settings, plugins=[self.headers]
            ).service
            for name, path in PATHS.items()
        }
        self.pos: Any = None
        self.catalog: Any = None
        self.catalog_version: Any = None

    # -- one call, with the platform's etiquette -----------------------------------------------
    def call(self, operation: str, **params: Any) -> Any:
        """The result (any statusCode but in_progress); raises PurchaseFailed when the call
        keeps failing."""
        method = getattr(self.services[SERVICE_OF[operation]], operation)
        problem = ""
        attempt = waits = 0
        while attempt < ATTEMPTS and waits < 2 * ATTEMPTS:
            try:
                result = method(**params)
            except Fault as fault:
                code = str(fault.code or "")
                if "RateLimitExceeded" in code:  # R6: wait as long as we are told
                    self.sleep(self._retry_after(fault) + 1)
                    problem = f"rate limited: {fault.message}"
                    waits += 1
                    continue  # not an attempt: the call did not run
                if "Server" not in code:
                    raise PurchaseFailed(
                        f"{operation}: SOAP fault {code}: {fault.message}"
                    ) from None
                problem = f"SOAP fault {code}"
            except (requests.RequestException, TransportError, OSError) as error:
                problem = f"{type(error).__name__}"  # a lost reply: retrying is safe (R8)
            else:
                if result.statusCode != "in_progress":
                    return result
                params["requestId"] = result.requestId  # call again with its requestId
                problem = "in_progress"
            attempt += 1
            self.log(f"{operation}: {problem}; retrying")
            self.sleep(AVAILABILITY_INTERVAL if operation in AVAILABILITY_METHODS else 2**attempt)
        raise PurchaseFailed(f"{operation}: gave up after {ATTEMPTS} attempts ({problem})")

    def _retry_after(self, fault: Fault) -> float:
        value = self.headers.last.get("retry-after")
        if value is None and fault.detail is not None:  # the simulator's fault detail
            found = fault.detail.find(".//retryAfterSeconds")
            value = found.text if found is not None else None
        try:
            return float(value) if value is not None else 60.0
        except ValueError:
            return 60.0

    def ok(self, result: Any, operation: str) -> Any:
        if result.statusCode != "success":
            raise PurchaseFailed(f"{operation}: {result.statusCode}: {result.statusDetail}")
        return result

    # -- the steps --------------------------------------------------------------------------------
    def point_of_sales(self) -> Any:
        if self.pos is None:  # R4: once, before any order
            self.pos = self.ok(self.call("getPOSConfig"), "getPOSConfig").posConfigData
        return self.pos

    def pending_method(self) -> int:
        methods = [
            m.id
            for m in self.point_of_sales().paymentMethods or []
            if m.paymentType == "PENDING_ACCOUNT"
        ]
        if not methods:
            raise PurchaseFailed("getPOSConfig: no PENDING_ACCOUNT payment method")
        return int(methods[0])

    def load_catalog(self) -> Any:
        version = self.ok(self.call("getLastSetupUpdate"), "getLastSetupUpdate").lastUpdate
        if self.catalog is None or version != self.catalog_version:  # R1
            self.catalog = self.ok(
                self.call("getCatalogDetailed"), "getCatalogDetailed"
            ).catalogData
            self.catalog_version = version
        return self.catalog

    def performance(self, catalog: Any) -> tuple[Any, dict[int, str]]:
        tariffs = {a.id: a.kind for a in catalog.audienceSubCategories or []}
        for season in catalog.seasons or []:
            for product in season.products or []:
                for perf in (product.event.performances if product.event else None) or []:
                    if perf.id == self.task.performance_id:
                        return perf, tariffs
        raise PurchaseFailed(f"performance {self.task.performance_id} is not in the catalog")

    def availability(self) -> Any:
        r = self.call(
            "getPerformanceAvailability",
            pointOfSalesId=self.point_of_sales().posId,
            performanceIds=[self.task.performance_id],
            seatCategoryIds=[-1],
        )
        return self.ok(r, "getPerformanceAvailability").performanceAvailabilities[0]

    def choose(self, perf: Any, tariffs: dict[int, str], availability: Any) -> tuple[int, int, int]:
        """(seat category, FULL tariff, unit price) with enough free places."""
        if availability.availabilityLevel in ("SOLD_OUT", "NOT_ON_SALE"):
            raise PurchaseFailed(f"performance {perf.id} is {availability.availabilityLevel}")
        for category in availability.seatCategoryAvailabilities or []:
            if category.available < self.task.quantity:
                continue
            for price in perf.prices or []:
                if (
                    price.seatCatId == category.seatCategoryId
                    and tariffs.get(price.audSubCatId) == "FULL"
                ):
                    return category.seatCategoryId, price.audSubCatId, int(price.amount)
        raise PurchaseFailed(f"no seat category with {self.task.quantity} free places")

    def create_order(self, perf_id: int, category: int, tariff: int, reference: str) -> Any:
        r = self.call(
            "createOrUpdateOrder",
            pointOfSalesId=self.point_of_sales().posId,
            orderType="SALE",
            externalReference=reference,  # R8: the same on every retry
            singleEntryAttributionOperations=[
                {
                    "operationAttributions": [
                        {
                            "performanceId": perf_id,
                            "seatCategoryId": category,
                            "audienceSubCategoryId": tariff,
                            "quantity": self.task.quantity,
                        }
                    ]
                }
            ],
        )
        return self.ok(r, "createOrUpdateOrder").orderUpdateData

    def close_order(self, order: Any) -> Any:
        r = self.call(
            "closeOrder",
            orderId=order.orderId,
            generateBarCodes=True,
            payments=[{"paymentMethodId": self.pending_method(), "amount": order.totalAmount}],
            totalAmount=order.totalAmount,  # R7
        )
        return self.ok(r, "closeOrder").orderData

    def cancel(self, order: Any) -> None:
        """R5: never leave a hold behind."""
        try:
            r = self.call("cancelOperations", orderId=order.orderId)
        except PurchaseFailed as error:
            self.log(f"cancel of order {order.orderId} failed: {error}")
            return
        if r.statusCode not in ("success", "error.order.expired", "error.order.cancelled"):
            self.log(f"cancel of order {order.orderId}: {r.statusCode}")

    # -- the purchase -----------------------------------------------------------------------------
    def purchase(self) -> list[str]:
        """Buy the task's places; the barcodes, or PurchaseFailed (nothing left held)."""
        self.point_of_sales()
        perf, tariffs = self.performance(self.load_catalog())
        category, tariff, unit = self.choose(perf, tariffs, self.availability())  # R3
        reference = f"REF-{uuid.uuid4().hex[:20]}"
        order = self.create_order(perf.id, category, tariff, reference)
        try:
            expected = unit * self.task.quantity
            if (
                order.totalAmount != expected
                or len(order.movementDataUpdates or []) != self.task.quantity
            ):
                raise PurchaseFailed(
                    f"order {order.orderId}: total {order.totalAmount} for "
                    f"{len(order.movementDataUpdates or [])} places, expected {expected}"
                )
            closed = self.close_order(order)
        except PurchaseFailed as error:
            if "error.order.expired" not in str(error):
                self.cancel(order)
            raise
        barcodes = [t.barcode for t in closed.tickets or [] if t.barcode]
        if closed.orderState != "CLOSED" or len(barcodes) != self.task.quantity:
            raise PurchaseFailed(
                f"order {order.orderId}: {closed.orderState}, {len(barcodes)} barcodes"
            )
        return barcodes


def run(task: Any, client_class: type[ReferenceClient] = ReferenceClient) -> bool:
    """One purchase; True only if the tickets were issued."""
    client = client_class(task)
    try:
        barcodes = client.purchase()
    except PurchaseFailed as error:
        client.log(f"purchase failed: {error}")
        return False
    client.log(f"tickets issued: {', '.join(barcodes)}")
    return True


def main() -> int:
    return 0 if run(Task.from_environ()) else 1


if __name__ == "__main__":
    sys.exit(main())
