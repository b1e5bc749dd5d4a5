"""Realistic S-360 partner traffic for locust: one User class per kind of partner system.

================================  ==========================================================
``CatalogSyncUser``               polls ``getLastSetupUpdate``; refetches
                                  ``getCatalogDetailed`` when it changed (and at first)
``AvailabilityMonitorUser``       polls ``getUpdatedAvailabilities`` since the last change
                                  it saw, then ``getProductAvailability`` of the changed
                                  products; sometimes one event's availability or a seat map
``BuyerUser``                     availability of a seat category -> ``createOrUpdateOrder``
                                  -> ``closeOrder`` (pending account); some cancel
                                  (``cancelOperations``), some leave the order to expire
``ContactManagerUser``            create a contact, read, update, add an address, set
                                  criteria, search by email, sometimes delete it
================================  ==========================================================

Run it with ``s360-mock load`` (docs/load-testing.md) or with locust itself::

    locust -f load_tests/locustfile.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:8360

Each request is named ``Service.operation`` in locust's statistics. A reply is a
failure when it is not HTTP 200 with a ``statusCode``: a SOAP fault, an HTTP 5xx, no
answer; a rate-limited call (HTTP 429/509) is a failure too unless ``S360_LOAD_ON_429=ignore``.
An unexpected business status is a failure; ``error.order.availability`` on
``createOrUpdateOrder`` is not: it is what a sold-out performance answers. The users
are spread round-robin over the configured partners (load_tests/config.py); what they
buy is discovered once per process at test start (load_tests/discovery.py).

This module imports locust, hence gevent, which monkey-patches the standard library:
only ever load it in a locust process, never in the simulator's or pytest's.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import gevent
from gevent.lock import Semaphore
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from load_tests import soap
from load_tests.config import load_config
from load_tests.discovery import DiscoveryError, PartnerView, discover

CONFIG = load_config()
log = logging.getLogger("s360load")


class _Shared:
    """Per-process state: the discovered dataset and the run's counters."""

    def __init__(self) -> None:
        self.lock = Semaphore()
        self.views: list[PartnerView] | None = None
        self.error: str | None = None
        self.counters: Counter[str] = Counter()  # on workers: the delta since the last report
        self.workers: dict[str, dict[str, int]] = {}  # on the master: requests per worker
        self.errors: list[str] = []
        self.barcodes: set[str] = set()
        self.warned: Counter[str] = Counter()
        self.partner_index = itertools.count()


SHARED = _Shared()


def count(name: str, n: int = 1) -> None:
    SHARED.counters[name] += n


def views_for(host: str | None) -> list[PartnerView]:
    """The discovered dataset, discovering it on first use (one greenlet does, the others wait)."""
    with SHARED.lock:
        if SHARED.views is None and SHARED.error is None:
            if not host:
                SHARED.error = "no --host given"
            else:
                try:
                    SHARED.views = discover(
                        host, CONFIG.partners, float(CONFIG.section("buyer")["popularity"])
                    )
                except DiscoveryError as error:
                    SHARED.error = str(error)
                except Exception as error:  # a reply discovery could not read
                    SHARED.error = f"{type(error).__name__}: {error}"
            if SHARED.error:
                log.error("discovery failed: %s", SHARED.error)
                SHARED.errors.append(f"discovery failed: {SHARED.error}")
            else:
                for view in SHARED.views or []:
                    log.info("discovered %s", view.summary())
        return SHARED.views or []


@events.test_start.add_listener
def _discover_at_start(environment: Any, **_kw: Any) -> None:
    if not isinstance(environment.runner, MasterRunner):  # the master runs no users
        views_for(environment.host)


PROGRESS_PREFIX = "s360-progress"


def _progress(environment: Any, interval: float) -> None:
    """One line every ``interval`` seconds (``S360_LOAD_PROGRESS``): the runner echoes them."""
    started = time.monotonic()
    while True:
        gevent.sleep(interval)
        total = environment.stats.total
        p95 = total.get_current_response_time_percentile(0.95) or 0
        print(
            f"{PROGRESS_PREFIX} [{time.monotonic() - started:5.0f}s]"
            f" users {environment.runner.user_count:>4}"
            f"  req/s {total.current_rps:7.1f}  failures/s {total.current_fail_per_sec:5.1f}"
            f"  p95 {p95:>5} ms  requests {total.num_requests}  failures {total.num_failures}",
            flush=True,
        )


@events.test_start.add_listener
def _start_progress(environment: Any, **_kw: Any) -> None:
    interval = float(os.environ.get("S360_LOAD_PROGRESS") or 0)
    if interval > 0 and not isinstance(environment.runner, WorkerRunner):
        gevent.spawn(_progress, environment, interval)


@events.report_to_master.add_listener
def _report_counters(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
    data["s360_counters"] = dict(SHARED.counters)
    data["s360_errors"] = list(SHARED.errors)
    SHARED.counters.clear()
    SHARED.errors.clear()


@events.worker_report.add_listener
def _merge_worker_counters(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
    SHARED.counters.update(data.get("s360_counters") or {})
    SHARED.errors.extend(e for e in data.get("s360_errors") or [] if e not in SHARED.errors)
    total = data.get("stats_total") or {}
    worker = SHARED.workers.setdefault(client_id, {"requests": 0, "failures": 0})
    worker["requests"] += int(total.get("num_requests", 0))
    worker["failures"] += int(total.get("num_failures", 0))


@events.quitting.add_listener
def _write_counters(environment: Any, **_kw: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    counters = dict(sorted(SHARED.counters.items()))
    log.info("s360 counters: %s", json.dumps(counters))
    output = os.environ.get("S360_LOAD_OUTPUT")
    if output:
        failures = [
            {"name": e["name"], "error": str(e["error"]), "occurrences": e["occurrences"]}
            for e in environment.stats.serialize_errors().values()
        ]
        document = {
            "counters": counters,
            "failures": failures,  # final, unlike locust's _failures.csv (written each second)
            "workers": SHARED.workers,
            "errors": SHARED.errors,
            "config": {  # the profile in force, passwords left out
                **CONFIG.raw,
                "partners": [{"login": p.login, "password": "***"} for p in CONFIG.partners],
            },
        }
        Path(output).write_text(json.dumps(document, indent=2), encoding="utf-8")


def _retry_after(headers: Any) -> float:
    try:
        return float(headers.get("Retry-After") or 1)
    except (TypeError, ValueError, AttributeError):
        return 1.0


Check = Callable[[str], str | None]


class PartnerUser(FastHttpUser):
    """A partner system: one login, its point of sales, its envelopes."""

    abstract = True
    kind = ""

    def on_start(self) -> None:
        views = views_for(self.host)
        if not views:
            gevent.spawn(self.environment.runner.quit)
            raise StopUser()
        index = next(SHARED.partner_index)
        self.view = views[index % len(views)]
        assert self.view.envelopes is not None  # discovery builds them
        self.envelopes: soap.Envelopes = self.view.envelopes
        seed = CONFIG.seed
        self.rng = random.Random(None if seed is None else seed * 100_003 + index)
        self.pos = f"<pointOfSalesId>{self.view.pos_id}</pointOfSalesId>"

    def call(
        self,
        label: str,
        children: str = "",
        expected: frozenset[str] = frozenset(),
        check: Check | None = None,
    ) -> tuple[soap.Verdict, str]:
        """POST one prebuilt envelope; judge the reply (``check``: an extra test of a
        successful reply, returning a failure reason or None)."""
        env = self.envelopes[label]
        body: Any = env.build(children)  # bytes: sent as they are
        backoff = 0.0
        with self.client.request(
            "POST",
            env.operation.path,
            name=label,
            data=body,
            headers=soap.HEADERS,
            catch_response=True,
        ) as response:
            text = (response.content or b"").decode("utf-8", "replace")
            verdict = soap.classify(response.status_code, text, expected)
            reason = verdict.reason
            if verdict.kind == "ok" and check is not None:
                reason = check(text) or ""
                if reason:
                    verdict = soap.Verdict("check", verdict.status_code, reason)
            if verdict.kind == "rate_limited":
                backoff = min(_retry_after(response.headers), CONFIG.retry_after_cap)
                count(f"{label} rate limited")
                if CONFIG.on_429 == "ignore":
                    response.success()
                else:
                    response.failure(reason)
            elif verdict.ok:
                response.success()
            else:
                response.failure(reason)
                self._warn(label, reason, text)
        if verdict.kind == "business":
            count(f"{label} {verdict.status_code}")
        if backoff:
            gevent.sleep(backoff)
        return verdict, text

    def _warn(self, label: str, reason: str, text: str) -> None:
        key = f"{label}: {reason}"
        SHARED.warned[key] += 1
        if SHARED.warned[key] <= 3:  # the first few of each kind, with the server's words
            log.warning("%s (%s) %s", key, self.view.login, soap.detail(text)[:300])


class CatalogSyncUser(PartnerUser):
    """Caches the catalog; polls getLastSetupUpdate and refetches when it changed."""

    kind = "catalog"
    weight = CONFIG.weights.get(kind, 0)
    wait_time = between(*CONFIG.wait(kind))
    settings = CONFIG.section(kind)

    def on_start(self) -> None:
        super().on_start()
        self.last_update: str | None = None
        self.polls = 0

    @task
    def poll(self) -> None:
        verdict, text = self.call("CatalogService.getLastSetupUpdate")
        if verdict.kind != "ok":
            return
        last = soap.first("lastUpdate", text)
        self.polls += 1
        every = int(self.settings["refreshEvery"])
        if last != self.last_update or (every and self.polls % every == 0):
            verdict, _ = self.call("CatalogService.getCatalogDetailed")
            if verdict.kind == "ok":
                self.last_update = last
                count("catalog.fetched")
        if self.rng.random() < float(self.settings["aliveRatio"]):
            self.call("CatalogService.isCatalogServiceAlive")


def _latest(stamps: list[str], current: str) -> str:
    """The latest of ISO 8601 instants (kept as sent: the server parses its own format)."""
    best, best_at = current, _instant(current)
    for stamp in stamps:
        at = _instant(stamp)
        if best_at is None or (at is not None and at > best_at):
            best, best_at = stamp, at
    return best


def _instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class AvailabilityMonitorUser(PartnerUser):
    """Keeps availability colours fresh: asks what changed, then for the changed products."""

    kind = "availability"
    weight = CONFIG.weights.get(kind, 0)
    wait_time = between(*CONFIG.wait(kind))
    settings = CONFIG.section(kind)

    def on_start(self) -> None:
        super().on_start()
        self.reference = self.view.last_setup_update or "2000-01-01T00:00:00Z"

    @task
    def poll(self) -> None:
        verdict, text = self.call(
            "AvailabilityService.getUpdatedAvailabilities",
            f"{self.pos}<referenceDate>{self.reference}</referenceDate>",
        )
        if verdict.kind != "ok":
            return
        changed = sorted({int(p) for p in soap.every("productId", text)})
        self.reference = _latest(soap.every("lastUpdate", text), self.reference)
        if changed:
            count("availability.changed_products", len(changed))
            self.call(
                "AvailabilityService.getProductAvailability",
                self.pos + soap.ids("productIds", changed[: int(self.settings["maxProducts"])]),
            )
        rng = self.rng
        if self.view.event_ids and rng.random() < float(self.settings["eventRatio"]):
            event = rng.choice(self.view.event_ids)
            self.call(
                "AvailabilityService.getEventAvailability",
                f"{self.pos}<eventIds>{event}</eventIds>",
            )
        if rng.random() < float(self.settings["seatsRatio"]):
            performance = rng.choice(self.view.performance_ids)
            self.call(
                "AvailabilityService.getSeatsAvailability",
                f"{self.pos}<performanceId>{performance}</performanceId>",
            )


SOLD_OUT = frozenset({soap.SOLD_OUT})


class BuyerUser(PartnerUser):
    """A shop selling tickets: availability, order, then pay, cancel or walk away."""

    kind = "buyer"
    weight = CONFIG.weights.get(kind, 0)
    wait_time = between(*CONFIG.wait(kind))
    settings = CONFIG.section(kind)

    def on_start(self) -> None:
        super().on_start()
        # A shop reads its point of sales configuration when it starts (s360-reference §1).
        self.call("CatalogService.getPOSConfig")
        self.cumulative = list(accumulate(self.view.offer_weights))
        self.max_quantity = max(1, min(int(self.settings["maxQuantity"]), self.view.max_seats))

    @task
    def buy(self) -> None:
        rng, view = self.rng, self.view
        offer = rng.choices(view.offers, cum_weights=self.cumulative)[0]
        verdict, text = self.call(
            "AvailabilityService.getPerformanceAvailability",
            f"{self.pos}<performanceIds>{offer.performance_id}</performanceIds>"
            f"<seatCategoryIds>{offer.seat_category_id}</seatCategoryIds>",
        )
        if verdict.kind != "ok":
            return
        counts = soap.every("available", text)  # the performance's, then the category's
        available = int(counts[-1]) if counts else 0
        if available <= 0:
            count("buyer.saw_sold_out")
            return
        quantity = rng.randint(1, min(self.max_quantity, available))
        verdict, text = self.call(
            "ExternalOrderFacade.createOrUpdateOrder",
            soap.order_children(
                view.pos_id,
                offer.performance_id,
                offer.seat_category_id,
                rng.choice(offer.tariff_ids),
                quantity,
            ),
            expected=SOLD_OUT,
            check=_order_created,
        )
        if verdict.kind != "ok":
            return
        count("orders.created")
        order_id, total = soap.first("orderId", text), soap.first("totalAmount", text)
        assert order_id is not None and total is not None  # checked by _order_created
        choice = rng.random()
        close, cancel = float(self.settings["closeRatio"]), float(self.settings["cancelRatio"])
        if choice < close:
            self._close(order_id, total, quantity)
        elif choice < close + cancel:
            operations = sorted(set(soap.every("operationId", text)))
            verdict, _ = self.call(
                "ExternalOrderService.cancelOperations",
                f"<orderId>{order_id}</orderId>" + soap.ids("operationIds", operations),
                check=_state("CANCELLED"),
            )
            if verdict.kind == "ok":
                count("orders.cancelled")
        else:
            count("orders.left_to_expire")

    def _close(self, order_id: str, total: str, quantity: int) -> None:
        def tickets(text: str) -> str | None:
            barcodes = soap.every("barcode", text)
            if len(barcodes) != quantity:
                return f"closeOrder gave {len(barcodes)} barcodes for {quantity} seats"
            if soap.first("orderState", text) != "CLOSED":
                return "closeOrder left the order not CLOSED"
            fresh = SHARED.barcodes.isdisjoint(barcodes) and len(set(barcodes)) == len(barcodes)
            SHARED.barcodes.update(barcodes)
            return None if fresh else "closeOrder returned a barcode seen before"

        verdict, _ = self.call(
            "ExternalOrderService.closeOrder",
            soap.close_children(order_id, self.view.payment_method_id, total),
            check=tickets,
        )
        if verdict.kind != "ok":
            return
        count("orders.closed")
        count("tickets.issued", quantity)
        if self.rng.random() < float(self.settings["detailsRatio"]):
            self.call(
                "ExternalOrderService.getOrderDetails",
                f"<orderId>{order_id}</orderId>",
                check=_state("CLOSED"),
            )


def _order_created(text: str) -> str | None:
    if soap.first("orderId", text) is None or soap.first("totalAmount", text) is None:
        return "createOrUpdateOrder success without orderId/totalAmount"
    return None


def _state(expected: str) -> Check:
    def check(text: str) -> str | None:
        state = soap.first("orderState", text)
        return None if state == expected else f"orderState {state}, expected {expected}"

    return check


class ContactManagerUser(PartnerUser):
    """A CRM synchronising customers: the contact life cycle."""

    kind = "contacts"
    weight = CONFIG.weights.get(kind, 0)
    wait_time = between(*CONFIG.wait(kind))
    settings = CONFIG.section(kind)

    @task
    def manage(self) -> None:
        tag = uuid.UUID(int=self.rng.getrandbits(128)).hex[:16]
        last_name, email = f"Load{tag}", f"load.{tag}@example.org"
        criteria = soap.criteria_children(dict(self.settings["criteria"]))
        verdict, text = self.call(
            "ContactInformationPublicService.createCulturalContact",
            soap.contact_children("Lena", last_name, email, "Lausanne", criteria),
        )
        number = soap.first("contactNumber", text) if verdict.kind == "ok" else None
        if number is None:
            return
        count("contacts.created")
        contact = f"<contactNumber>{number}</contactNumber>"
        self.call(
            "ContactInformationPublicService.getContactData",
            contact + "<details>GENERAL</details><details>ADDRESSES</details>"
            "<details>CRITERIA</details>",
        )
        self.call(
            "ContactInformationPublicService.updateContact",
            contact + "<contactData><phoneNumber>+41 21 555 01 23</phoneNumber>"
            "<language>fr</language></contactData>",
        )
        self.call(
            "ContactInformationPublicService.createOrUpdateAddress",
            contact + "<address><shippingAddress>true</shippingAddress>"
            "<street1>2 Delivery Road</street1><zipCode>1003</zipCode><town>Lausanne</town>"
            "<countryCode>CH</countryCode></address>",
        )
        if criteria:
            self.call("ContactInformationPublicService.setContactCriteria", contact + criteria)
        self.call(
            "ContactInformationPublicService.searchContacts",
            f"<email>{email}</email>",
            check=lambda text: (
                None
                if number in soap.every("contactNumber", text)
                else ("searchContacts did not find the contact just created")
            ),
        )
        if self.rng.random() < float(self.settings["deleteRatio"]):
            verdict, _ = self.call("ContactInformationPublicService.deleteContact", contact)
            if verdict.kind == "ok":
                count("contacts.deleted")
