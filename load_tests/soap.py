"""SOAP for the load generator: prebuilt JAX-WS envelopes and cheap reply checks.

Nothing here imports locust (or gevent): the runner, the discovery step and the
project's tests use it in ordinary processes. The locustfile builds one
:class:`Envelopes` per partner when the test starts; a request is then the
concatenation of a prebuilt head, the operation's children and a prebuilt tail,
so the load generator spends its time waiting for the simulator, not formatting
XML. Replies are checked with regular expressions (HTTP status, ``statusCode``,
the ids a user needs next); a full XML parse happens only at discovery.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from mock_server.soap import namespaces as ns
from mock_server.soap.namespaces import ServiceInfo

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/"
    "oasis-200401-wss-username-token-profile-1.0#PasswordText"
)
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}

#: Business status codes that are expected under load and are not failures.
SOLD_OUT = "error.order.availability"


@dataclass(frozen=True)
class Operation:
    service: ServiceInfo
    name: str

    @property
    def label(self) -> str:
        """The request name in locust's statistics: ``Service.operation``."""
        return f"{self.service.name}.{self.name}"

    @property
    def path(self) -> str:
        return self.service.path


def _ops(service: ServiceInfo, *names: str) -> dict[str, Operation]:
    return {name: Operation(service, name) for name in names}


CATALOG = _ops(
    ns.CATALOG, "getCatalogDetailed", "getLastSetupUpdate", "getPOSConfig", "isCatalogServiceAlive"
)
AVAILABILITY = _ops(
    ns.AVAILABILITY,
    "getProductAvailability",
    "getEventAvailability",
    "getPerformanceAvailability",
    "getSeatsAvailability",
    "getUpdatedAvailabilities",
)
FACADE = _ops(ns.ORDER_FACADE, "createOrUpdateOrder")
ORDERS = _ops(
    ns.ORDER_SERVICE, "closeOrder", "getOrderDetails", "cancelOperations", "abandonMovements"
)
CONTACTS = _ops(
    ns.CONTACT,
    "createCulturalContact",
    "getContactData",
    "updateContact",
    "deleteContact",
    "createOrUpdateAddress",
    "deleteAddress",
    "setContactCriteria",
    "searchContacts",
)
ALL_OPERATIONS: dict[str, Operation] = {
    op.label: op
    for group in (CATALOG, AVAILABILITY, FACADE, ORDERS, CONTACTS)
    for op in group.values()
}


def security_header(login: str, password: str) -> str:
    """A WS-Security UsernameToken header as JAX-WS clients send it."""
    return (
        f'<soapenv:Header><wsse:Security soapenv:mustUnderstand="1" xmlns:wsse="{WSSE}" '
        f'xmlns:wsu="{WSU}"><wsse:UsernameToken wsu:Id="UsernameToken-1">'
        f"<wsse:Username>{escape(login)}</wsse:Username>"
        f'<wsse:Password Type="{PASSWORD_TEXT}">{escape(password)}</wsse:Password>'
        "</wsse:UsernameToken></wsse:Security></soapenv:Header>"
    )


@dataclass(frozen=True)
class Envelope:
    """One operation's envelope for one login, split around the operation's children."""

    operation: Operation
    head: bytes
    tail: bytes

    def build(self, children: str = "") -> bytes:
        return self.head + children.encode() + self.tail


def envelope(operation: Operation, login: str, password: str) -> Envelope:
    head = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:v1="{operation.service.tns}">'
        f"{security_header(login, password)}<soapenv:Body><v1:{operation.name}>"
    )
    tail = f"</v1:{operation.name}></soapenv:Body></soapenv:Envelope>"
    return Envelope(operation, head.encode(), tail.encode())


@dataclass
class Envelopes:
    """Every operation's envelope for one login, built once."""

    login: str
    password: str
    by_label: dict[str, Envelope] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for label, op in ALL_OPERATIONS.items():
            self.by_label[label] = envelope(op, self.login, self.password)

    def __getitem__(self, label: str) -> Envelope:
        return self.by_label[label]


# -- children of the requests the load users send -----------------------------------------------
def ids(tag: str, values: Iterable[int | str]) -> str:
    return "".join(f"<{tag}>{v}</{tag}>" for v in values)


def order_children(
    pos_id: int, performance_id: int, seat_category_id: int, tariff_id: int, quantity: int
) -> str:
    return (
        f"<pointOfSalesId>{pos_id}</pointOfSalesId><orderType>SALE</orderType>"
        "<singleEntryAttributionOperations><operationAttributions>"
        f"<performanceId>{performance_id}</performanceId>"
        f"<seatCategoryId>{seat_category_id}</seatCategoryId>"
        f"<audienceSubCategoryId>{tariff_id}</audienceSubCategoryId>"
        f"<quantity>{quantity}</quantity>"
        "</operationAttributions></singleEntryAttributionOperations>"
    )


def close_children(order_id: str, payment_method_id: int, total: str) -> str:
    return (
        f"<orderId>{order_id}</orderId><generateBarCodes>true</generateBarCodes>"
        f"<payments><paymentMethodId>{payment_method_id}</paymentMethodId>"
        f"<amount>{total}</amount></payments><totalAmount>{total}</totalAmount>"
    )


def contact_children(first: str, last: str, email: str, town: str, criteria: str) -> str:
    return (
        f"<contactDataList><firstName>{escape(first)}</firstName>"
        f"<lastName>{escape(last)}</lastName><email>{escape(email)}</email>"
        "<language>en</language><addresses><main>true</main><billingAddress>true</billingAddress>"
        f"<street1>1 Load Street</street1><zipCode>1000</zipCode><town>{escape(town)}</town>"
        f"<countryCode>CH</countryCode></addresses>{criteria}</contactDataList>"
    )


def criteria_children(criteria: dict[str, str]) -> str:
    return "".join(
        f"<contactCriteria><code>{escape(code)}</code><value>{escape(value)}</value>"
        "</contactCriteria>"
        for code, value in criteria.items()
    )


# -- reply checks ---------------------------------------------------------------------------------
# Children are unqualified on the simulator's wire; a prefix is tolerated for other servers.
_STATUS = re.compile(r"<(?:\w+:)?statusCode>([^<]*)</(?:\w+:)?statusCode>")
_DETAIL = re.compile(r"<(?:\w+:)?statusDetail>([^<]*)</")
_FAULT = re.compile(r"<(?:\w+:)?faultcode>([^<]*)</")
_FAULT_STRING = re.compile(r"<(?:\w+:)?faultstring>([^<]*)</")


def first(tag: str, text: str) -> str | None:
    """The text of the first ``<tag>`` in ``text`` (a regex search, no XML parse)."""
    match = re.search(rf"<(?:\w+:)?{tag}>([^<]*)</", text)
    return match.group(1) if match else None


def every(tag: str, text: str) -> list[str]:
    return re.findall(rf"<(?:\w+:)?{tag}>([^<]*)</", text)


# Outcome kinds: "ok" (success), "business" (an expected business status), "rate_limited",
# "fault", "status" (an unexpected business status), "http" (other HTTP errors, no answer).
@dataclass(frozen=True)
class Verdict:
    kind: str
    status_code: str | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.kind in ("ok", "business")


def classify(
    http_status: int, text: str, expected: frozenset[str] | tuple[str, ...] = ()
) -> Verdict:
    """Judge one SOAP reply cheaply. ``reason`` is stable (no ids): locust groups
    failures by it."""
    if http_status == 200:
        match = _STATUS.search(text)
        if match is None:
            return Verdict("http", None, "HTTP 200 without a statusCode")
        code = match.group(1)
        if code == "success":
            return Verdict("ok", code)
        if code in expected:
            return Verdict("business", code)
        return Verdict("status", code, f"statusCode {code}")
    if http_status in (429, 509):
        return Verdict("rate_limited", None, f"HTTP {http_status} rate limited")
    fault = _FAULT.search(text) if text else None
    if fault is not None:
        code = fault.group(1).split(":", 1)[-1]
        return Verdict("fault", None, f"SOAP fault {code} (HTTP {http_status})")
    if http_status == 0:
        return Verdict("http", None, "no HTTP answer (connection error or timeout)")
    return Verdict("http", None, f"HTTP {http_status}")


def detail(text: str) -> str:
    """``statusDetail`` or ``faultstring`` of a reply, for logs."""
    match = _DETAIL.search(text) or _FAULT_STRING.search(text)
    return match.group(1) if match else ""
