"""The S-360 partner sales flow, end to end, against s360-mock (or any S-360 base URL).

    python examples/sales_flow.py [BASE_URL] [--login L --password P] [--expiry]

BASE_URL defaults to http://127.0.0.1:8360 (``make serve``). Uses only zeep and the
public SOAP API, in the order of the vendor's reference architecture for distribution
partners:

1. getPOSConfig: point of sales id and the pending-account payment method;
2. getLastSetupUpdate + getCatalogDetailed: performances and their tariffs;
3. getPerformanceAvailability: pick a seat category with free seats;
4. createCulturalContact: the buyer;
5. createOrUpdateOrder: hold 2 seats (getEventAvailability: 2 fewer free seats);
6. closeOrder: pay on the pending account, get the barcodes (Luhn-checked here);
7. getOrderDetails + getSeatsAvailability: the order is CLOSED, the seats are taken.

Each availability method is called once: the platform (and the simulator, by
default) allows each of them once per minute, and getCatalogDetailed once per
10 minutes per partner. A rate-limited call is reported with a hint.

``--expiry`` also shows a hold expiring; it needs the simulator's control plane
(``POST /_mock/clock/advance``, docs/control-plane.md) to move the virtual clock,
so it only works against s360-mock, from the same machine.

Exits with status 1 on any non-success status code or SOAP fault. ``main(base_url)``
can be imported.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any

import zeep
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

DEFAULT_BASE_URL = "http://127.0.0.1:8360"
DEFAULT_LOGIN = ("DEMO_PARTNER1", "partner1-secret")  # the default dataset's first partner

PATHS = {
    "CatalogService": "/tnseb/external-remoting/com.secutix.service.realtime.catalog.v1_33.CatalogService.webservice",
    "AvailabilityService": "/tnseb/external-remoting/com.secutix.service.realtime.availability.v1_33.AvailabilityService.webservice",
    "ExternalOrderFacade": "/tnseb/external-remoting/com.secutix.service.realtime.externalorder.v1_33.ExternalOrderFacade.webservice",
    "ExternalOrderService": "/tnseb/external-remoting/com.secutix.service.realtime.externalorder.v1_33.ExternalOrderService.webservice",
    "ContactInformationPublicService": "/tnco/external-remoting/com.secutix.service.contact.v2_21.ContactInformationPublicService.webservice",
}
SEATS = 2


class FlowError(Exception):
    """A step answered something other than what the flow expects."""


def client(base_url: str, service: str, login: tuple[str, str]) -> Any:
    """A zeep client built from the served WSDL, sending a WS-Security UsernameToken."""
    wsdl = base_url.rstrip("/") + PATHS[service] + "?wsdl"
    return zeep.Client(
        wsdl, wsse=UsernameToken(*login), settings=zeep.Settings(strict=True, xml_huge_tree=True)
    )


def check(result: Any, step: str) -> Any:
    """S-360 reports business errors in statusCode, not as SOAP faults."""
    if result.statusCode != "success":
        raise FlowError(f"{step}: {result.statusCode}: {result.statusDetail}")
    return result


def luhn_ok(code: str) -> bool:
    """True when the last digit of ``code`` is its Luhn check digit."""
    if not code.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(code)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def text(translated: Any, locale: str = "en") -> str:
    """The ``locale`` value of an S-360 TranslatedText (or the first one)."""
    items = translated.translations if translated is not None else []
    for t in items:
        if t.locale == locale:
            return str(t.value)
    return str(items[0].value) if items else ""


def money(amount: int, currency: str) -> str:
    return f"{amount / 1000:.2f} {currency}"  # amounts are thousandths of the currency unit


def choose(
    catalog: Any, availability: Any, tariffs: dict[int, str]
) -> tuple[Any, Any, int, int, int]:
    """First performance on sale (GOOD before LIMITED) with a seat category holding SEATS
    free seats and a FULL price: (product, performance, category id, tariff id, free seats)."""
    performances = {
        perf.id: (product, perf)
        for season in catalog.seasons
        for product in season.products
        if product.event is not None
        for perf in product.event.performances
    }
    on_sale = [pa for pa in availability if pa.availabilityLevel == "GOOD"]
    on_sale += [pa for pa in availability if pa.availabilityLevel == "LIMITED"]
    for pa in on_sale:
        product, perf = performances[pa.performanceId]
        for ca in pa.seatCategoryAvailabilities:
            if ca.available < SEATS:
                continue
            for price in perf.prices:
                if (
                    price.seatCatId == ca.seatCategoryId
                    and tariffs.get(price.audSubCatId) == "FULL"
                ):
                    return product, perf, ca.seatCategoryId, price.audSubCatId, ca.available
    raise FlowError(f"no performance on sale with {SEATS} free seats at a FULL tariff")


def hold(
    facade: Any, pos_id: int, perf_id: int, category_id: int, tariff_id: int, **extra: Any
) -> Any:
    """createOrUpdateOrder for SEATS places of one category, best available."""
    line = {
        "performanceId": perf_id,
        "seatCategoryId": category_id,
        "audienceSubCategoryId": tariff_id,
        "quantity": extra.pop("quantity", SEATS),
    }
    return check(
        facade.service.createOrUpdateOrder(
            pointOfSalesId=pos_id,
            orderType="SALE",
            singleEntryAttributionOperations=[{"operationAttributions": [line]}],
            **extra,
        ),
        "createOrUpdateOrder",
    ).orderUpdateData


def advance_clock(base_url: str, seconds: int) -> str:
    """Move the simulator's virtual clock (control plane, not part of S-360)."""
    request = urllib.request.Request(
        base_url.rstrip("/") + "/_mock/clock/advance",
        data=json.dumps({"seconds": seconds}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.load(response)["now"])
    except urllib.error.HTTPError as error:
        raise FlowError(
            f"--expiry: POST /_mock/clock/advance answered HTTP {error.code}: "
            f"{error.read().decode(errors='replace')[:200]} (see docs/control-plane.md)"
        ) from None


def run(base_url: str, login: tuple[str, str] = DEFAULT_LOGIN, expiry: bool = False) -> None:
    catalog_svc = client(base_url, "CatalogService", login)
    av = client(base_url, "AvailabilityService", login)
    contacts = client(base_url, "ContactInformationPublicService", login)
    facade = client(base_url, "ExternalOrderFacade", login)
    orders = client(base_url, "ExternalOrderService", login)

    # 1. Point of sales and payment method.
    pos = check(catalog_svc.service.getPOSConfig(), "getPOSConfig").posConfigData
    pending = [pm.id for pm in pos.paymentMethods if pm.paymentType == "PENDING_ACCOUNT"]
    if not pending:
        raise FlowError("getPOSConfig: no PENDING_ACCOUNT payment method")
    print(
        f"1. point of sales {pos.posId} ({pos.posCode}), currency {pos.currencyCode}, "
        f"pending account {pending[0]}, orders abandoned after {pos.orderAbandonDelay} min"
    )

    # 2. Catalog (cache it; poll getLastSetupUpdate to know when to fetch it again).
    last = check(catalog_svc.service.getLastSetupUpdate(), "getLastSetupUpdate").lastUpdate
    catalog = check(catalog_svc.service.getCatalogDetailed(), "getCatalogDetailed").catalogData
    tariffs = {a.id: a.kind for a in catalog.audienceSubCategories}
    perf_ids = [
        perf.id
        for season in catalog.seasons
        for product in season.products
        if product.state == "RUNNING" and product.event is not None
        for perf in product.event.performances
    ]
    print(
        f"2. catalog (last setup change {last}): {len(perf_ids)} performances of running products"
    )

    # 3. Availability of them all, every seat category itemised (seatCategoryIds = -1).
    availability = check(
        av.service.getPerformanceAvailability(
            pointOfSalesId=pos.posId, performanceIds=perf_ids, seatCategoryIds=[-1]
        ),
        "getPerformanceAvailability",
    ).performanceAvailabilities
    product, perf, category_id, tariff_id, before = choose(catalog, availability, tariffs)
    print(
        f"3. chose performance {perf.id} of {text(product.externalName)!r} on {perf.start}, "
        f"seat category {category_id}: {before} seats free"
    )

    # 4. The buyer.
    created = check(
        contacts.service.createCulturalContact(
            contactDataList=[
                {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.org"}
            ]
        ),
        "createCulturalContact",
    )
    contact_number = created.contacts[0].contactNumber
    print(f"4. contact {contact_number} created")

    # 5. Hold the seats. externalReference names the purchase: a retry returns the same order.
    update = hold(
        facade,
        pos.posId,
        perf.id,
        category_id,
        tariff_id,
        purchasersInfo=[{"contactReference": str(contact_number)}],
        externalReference=f"EXAMPLE-{uuid.uuid4().hex[:12]}",
    )
    event_av = check(
        av.service.getEventAvailability(
            pointOfSalesId=pos.posId, performanceIds=[perf.id], seatCategoryIds=[category_id]
        ),
        "getEventAvailability",
    )
    held = event_av.performanceAvailabilities[0].seatCategoryAvailabilities[0].available
    seats = ", ".join(f"row {m.rowNumber} seat {m.seatNumber}" for m in update.movementDataUpdates)
    print(
        f"5. order {update.orderId} {update.orderState}: {seats}; total "
        f"{money(update.totalAmount, pos.currencyCode)}; held until {update.expirationDate}; "
        f"free seats {before} -> {held}"
    )
    if held != before - SEATS:
        raise FlowError(f"availability should drop by {SEATS} while held: {before} -> {held}")

    # 6. Close: payment on the pending account, barcodes in the reply.
    closed = check(
        orders.service.closeOrder(
            orderId=update.orderId,
            generateBarCodes=True,
            payments=[{"paymentMethodId": pending[0], "amount": update.totalAmount}],
            totalAmount=update.totalAmount,
        ),
        "closeOrder",
    ).orderData
    print(
        f"6. order {closed.orderId} {closed.orderState}, paid {money(closed.saleAmount, pos.currencyCode)}"
    )
    for ticket in closed.tickets:
        ok = luhn_ok(ticket.barcode or "")
        print(
            f"   ticket {ticket.ticketId} seat {ticket.seatId}: barcode {ticket.barcode} "
            f"(Luhn {'ok' if ok else 'WRONG'}) {ticket.ticketState}"
        )
        if not ok:
            raise FlowError(f"closeOrder: barcode {ticket.barcode!r} fails its Luhn check")
    if closed.orderState != "CLOSED" or len(closed.tickets) != SEATS:
        raise FlowError(f"closeOrder: {closed.orderState} with {len(closed.tickets)} tickets")

    # 7. The order as S-360 keeps it; the seats stay taken.
    details = check(
        orders.service.getOrderDetails(orderId=update.orderId), "getOrderDetails"
    ).orderData
    seat_av = check(
        av.service.getSeatsAvailability(
            pointOfSalesId=pos.posId, performanceId=perf.id, seatCategoryIds=[category_id]
        ),
        "getSeatsAvailability",
    )
    after = seat_av.performanceAvailability.seatCategoryAvailabilities[0].available
    states = {s.physicalSeatId: s.state for s in seat_av.seats}  # numbered seats only
    mine = [states.get(m.seatId, "standing") for m in details.movementDatas]
    print(
        f"7. getOrderDetails: {details.orderState}; free seats {before} -> {after}; my seats {mine}"
    )
    if details.orderState != "CLOSED" or after != before - SEATS or "FREE" in mine:
        raise FlowError(f"expected a CLOSED order, {before - SEATS} free seats, my seats taken")

    if expiry:
        show_expiry(base_url, facade, orders, av, pos, perf.id, category_id, tariff_id)


def show_expiry(
    base_url: str,
    facade: Any,
    orders: Any,
    av: Any,
    pos: Any,
    perf_id: int,
    category_id: int,
    tariff_id: int,
) -> None:
    """Hold one seat, move the virtual clock past orderAbandonDelay: the hold is gone."""
    update = hold(facade, pos.posId, perf_id, category_id, tariff_id, quantity=1)
    print(f"8. order {update.orderId} {update.orderState}, held until {update.expirationDate}")
    now = advance_clock(base_url, (pos.orderAbandonDelay + 1) * 60)
    details = check(
        orders.service.getOrderDetails(orderId=update.orderId), "getOrderDetails"
    ).orderData
    # The availability limits (1 per minute) count on the virtual clock: it just moved.
    free = check(
        av.service.getPerformanceAvailability(
            pointOfSalesId=pos.posId, performanceIds=[perf_id], seatCategoryIds=[category_id]
        ),
        "getPerformanceAvailability",
    ).performanceAvailabilities[0]
    print(
        f"   clock moved to {now}: order {details.orderState}, "
        f"{[m.movementState for m in details.movementDatas]}; free seats {free.available}"
    )
    late = orders.service.closeOrder(orderId=update.orderId, totalAmount=update.totalAmount)
    print(f"   closeOrder now: {late.statusCode}")
    if details.orderState != "ABANDONED" or late.statusCode != "error.order.expired":
        raise FlowError("the hold should have expired")


def main(
    base_url: str = DEFAULT_BASE_URL, login: tuple[str, str] = DEFAULT_LOGIN, expiry: bool = False
) -> int:
    """Run the flow; 0 on success, 1 on any failure (reported on stderr)."""
    try:
        run(base_url, login, expiry)
    except FlowError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    except Fault as fault:
        print(f"FAILED: SOAP fault {fault.code}: {fault.message}", file=sys.stderr)
        if "RateLimitExceeded" in str(fault.code):
            print(
                "hint: S-360 allows getCatalogDetailed once per 10 minutes and each availability "
                "method once per minute, per partner. Wait, use another login (--login "
                "DEMO_PARTNER2 --password partner2-secret), or start the simulator with "
                "--rate-limits off.",
                file=sys.stderr,
            )
        return 1
    except OSError as error:  # connection refused, DNS, …
        print(f"FAILED: cannot reach {base_url}: {error}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "base_url", nargs="?", default=DEFAULT_BASE_URL, help=f"default {DEFAULT_BASE_URL}"
    )
    parser.add_argument("--login", default=DEFAULT_LOGIN[0], help="default %(default)s")
    parser.add_argument("--password", default=DEFAULT_LOGIN[1], help="default %(default)s")
    parser.add_argument(
        "--expiry",
        action="store_true",
        help="also show a hold expiring (moves the simulator's clock: s360-mock only)",
    )
    args = parser.parse_args()
    sys.exit(main(args.base_url, (args.login, args.password), args.expiry))
