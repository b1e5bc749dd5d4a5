"""What the load users need to know, discovered once when the test starts.

For each partner (login and password from the load config): ``getPOSConfig``
(point of sales, pending-account payment method, seat limit),
``getLastSetupUpdate``, ``getCatalogDetailed`` (products, events, running
performances, their seat categories and the tariffs priced for each), then one
``getPerformanceAvailability`` per batch of performances to keep only what is on
sale. Plain ``requests`` calls, outside locust's statistics, fully parsed with
lxml: this is the only place the load tests parse XML. Nothing here imports locust.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import requests
from lxml import etree

from load_tests.config import Partner
from load_tests.soap import (
    HEADERS,
    SOAP_ENV,
    Envelopes,
    classify,
    detail,
    ids,
)

ON_SALE_LEVELS = ("GOOD", "LIMITED")
BATCH = 200  # performances per availability call at discovery


class DiscoveryError(RuntimeError):
    pass


@dataclass(frozen=True)
class Offer:
    """A seat category of a performance on sale, with the tariffs priced for it."""

    product_id: int
    event_id: int
    performance_id: int
    seat_category_id: int
    tariff_ids: tuple[int, ...]
    available: int


@dataclass
class PartnerView:
    """One partner's login, point of sales and the part of the catalog it sells."""

    login: str
    password: str
    pos_id: int
    payment_method_id: int
    max_seats: int
    last_setup_update: str
    product_ids: list[int] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    #: Relative popularity of each offer (same order as ``offers``).
    offer_weights: list[float] = field(default_factory=list)
    envelopes: Envelopes | None = None

    @property
    def performance_ids(self) -> list[int]:
        return sorted({o.performance_id for o in self.offers})

    def summary(self) -> str:
        return (
            f"{self.login}: point of sales {self.pos_id}, payment method {self.payment_method_id},"
            f" {len(self.product_ids)} products, {len(self.performance_ids)} performances and"
            f" {len(self.offers)} seat categories on sale"
        )


def _text(el: Any, path: str) -> str:
    value = el.findtext(path)
    if value is None:
        raise DiscoveryError(f"reply without {path}")
    return str(value)


class _Caller:
    def __init__(self, base_url: str, partner: Partner, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.partner = partner
        self.envelopes = Envelopes(partner.login, partner.password)
        self.session = requests.Session()
        self.timeout = timeout

    def call(self, label: str, children: str = "") -> Any:
        env = self.envelopes[label]
        try:
            response = self.session.post(
                self.base_url + env.operation.path,
                data=env.build(children),
                headers=HEADERS,
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise DiscoveryError(f"{self.partner.login}: {label}: {error}") from None
        verdict = classify(response.status_code, response.text)
        if verdict.kind != "ok":
            raise DiscoveryError(
                f"{self.partner.login}: {label}: {verdict.reason} {detail(response.text)}".strip()
            )
        root = etree.fromstring(response.content)
        body = root.find(f"{{{SOAP_ENV}}}Body")
        return body[0][0]  # {tns}opResponse / the result element


def _pos(caller: _Caller) -> tuple[int, int, int]:
    data = caller.call("CatalogService.getPOSConfig").find("posConfigData")
    if data is None:
        raise DiscoveryError(f"{caller.partner.login}: getPOSConfig without posConfigData")
    methods = [
        (m.findtext("paymentType"), m.findtext("id")) for m in data.findall("paymentMethods")
    ]
    pending = [int(i) for kind, i in methods if kind == "PENDING_ACCOUNT" and i]
    others = [int(i) for _, i in methods if i]
    if not pending and not others:
        raise DiscoveryError(f"{caller.partner.login}: getPOSConfig lists no payment method")
    max_seats = int(data.findtext("maxSeatsPerPerformance") or 10)
    return int(_text(data, "posId")), (pending or others)[0], max_seats


def _catalog(
    caller: _Caller, view: PartnerView
) -> dict[int, list[tuple[int, int, int, list[int]]]]:
    """performance id -> [(product, event, seat category, tariffs)] of running products."""
    data = caller.call("CatalogService.getCatalogDetailed").find("catalogData")
    result: dict[int, list[tuple[int, int, int, list[int]]]] = {}
    products, events = set(), set()
    for product in [] if data is None else data.iter("products"):
        if product.findtext("state") != "RUNNING":
            continue
        if product.findtext("productFamilyType") not in (None, "SINGLE_ENTRY"):
            continue
        event = product.find("event")
        if event is None:
            continue
        product_id, event_id = int(_text(product, "id")), int(_text(event, "id"))
        for perf in event.findall("performances"):
            if perf.findtext("state") not in (None, "RUNNING"):
                continue
            tariffs: dict[int, list[int]] = defaultdict(list)
            for price in perf.findall("prices"):
                tariffs[int(_text(price, "seatCatId"))].append(int(_text(price, "audSubCatId")))
            rows = [
                (
                    product_id,
                    event_id,
                    int(_text(cat, "id")),
                    sorted(set(tariffs[int(_text(cat, "id"))])),
                )
                for cat in perf.findall("seatCategories")
            ]
            rows = [r for r in rows if r[3]]
            if rows:
                result[int(_text(perf, "id"))] = rows
                products.add(product_id)
                events.add(event_id)
    view.product_ids, view.event_ids = sorted(products), sorted(events)
    return result


def _on_sale(
    caller: _Caller, view: PartnerView, catalog: dict[int, list[tuple[int, int, int, list[int]]]]
) -> list[Offer]:
    offers = []
    performance_ids = sorted(catalog)
    for start in range(0, len(performance_ids), BATCH):
        batch = performance_ids[start : start + BATCH]
        result = caller.call(
            "AvailabilityService.getPerformanceAvailability",
            f"<pointOfSalesId>{view.pos_id}</pointOfSalesId>"
            + ids("performanceIds", batch)
            + "<seatCategoryIds>-1</seatCategoryIds>",
        )
        for perf in result.findall("performanceAvailabilities"):
            performance_id = int(_text(perf, "performanceId"))
            if perf.findtext("availabilityLevel") not in ON_SALE_LEVELS:
                continue
            levels = {
                int(_text(c, "seatCategoryId")): (
                    c.findtext("availabilityLevel"),
                    int(c.findtext("available") or 0),
                )
                for c in perf.findall("seatCategoryAvailabilities")
            }
            for product_id, event_id, category, tariffs in catalog.get(performance_id, []):
                level, available = levels.get(category, (None, 0))
                if level in ON_SALE_LEVELS and available > 0:
                    offers.append(
                        Offer(
                            product_id,
                            event_id,
                            performance_id,
                            category,
                            tuple(tariffs),
                            available,
                        )
                    )
    return offers


def popularity(offers: list[Offer], exponent: float) -> list[float]:
    """Zipf weights by performance rank (lowest id first), shared among its categories:
    a few performances draw most buyers, as on a real sales day."""
    ranks = {p: r for r, p in enumerate(sorted({o.performance_id for o in offers}))}
    per_performance: dict[int, int] = defaultdict(int)
    for o in offers:
        per_performance[o.performance_id] += 1
    return [
        1.0 / ((ranks[o.performance_id] + 1) ** exponent) / per_performance[o.performance_id]
        for o in offers
    ]


def discover_partner(
    base_url: str, partner: Partner, exponent: float = 1.0, timeout: float = 60
) -> PartnerView:
    caller = _Caller(base_url, partner, timeout)
    try:
        pos_id, method_id, max_seats = _pos(caller)
        last = caller.call("CatalogService.getLastSetupUpdate").findtext("lastUpdate") or ""
        view = PartnerView(
            partner.login,
            partner.password,
            pos_id,
            method_id,
            max_seats,
            last,
            envelopes=caller.envelopes,
        )
        view.offers = _on_sale(caller, view, _catalog(caller, view))
    finally:
        caller.session.close()
    if not view.offers:
        raise DiscoveryError(f"{partner.login}: nothing on sale (no seat category available)")
    view.offer_weights = popularity(view.offers, exponent)
    return view


def discover(
    base_url: str, partners: list[Partner], exponent: float = 1.0, timeout: float = 60
) -> list[PartnerView]:
    return [discover_partner(base_url, p, exponent, timeout) for p in partners]
