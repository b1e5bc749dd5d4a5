"""The S-360 public API as the contract tests see it: zeep clients built from the
WSDLs the endpoint serves, every raw reply captured and validated against the
XSD of that same WSDL.

Nothing here needs the simulator: it works against any S-360 base URL (the
simulator, a real sandbox). The control plane (``/_mock``) is optional and
detected (:attr:`Endpoint.admin`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import requests
from lxml import etree

SERVICE_PATHS = {
    "CatalogService": "/tnseb/external-remoting/com.secutix.service.realtime.catalog.v1_33.CatalogService.webservice",
    "AvailabilityService": "/tnseb/external-remoting/com.secutix.service.realtime.availability.v1_33.AvailabilityService.webservice",
    "ExternalOrderFacade": "/tnseb/external-remoting/com.secutix.service.realtime.externalorder.v1_33.ExternalOrderFacade.webservice",
    "ExternalOrderService": "/tnseb/external-remoting/com.secutix.service.realtime.externalorder.v1_33.ExternalOrderService.webservice",
    "ContactInformationPublicService": "/tnco/external-remoting/com.secutix.service.contact.v2_21.ContactInformationPublicService.webservice",
}
OPERATION_SERVICE = {
    "getCatalogDetailed": "CatalogService",
    "getLastSetupUpdate": "CatalogService",
    "getPOSConfig": "CatalogService",
    "isCatalogServiceAlive": "CatalogService",
    "getProductAvailability": "AvailabilityService",
    "getEventAvailability": "AvailabilityService",
    "getPerformanceAvailability": "AvailabilityService",
    "getSeatsAvailability": "AvailabilityService",
    "getUpdatedAvailabilities": "AvailabilityService",
    "createOrUpdateOrder": "ExternalOrderFacade",
    "closeOrder": "ExternalOrderService",
    "getOrderDetails": "ExternalOrderService",
    "cancelOperations": "ExternalOrderService",
    "abandonMovements": "ExternalOrderService",
    "createCulturalContact": "ContactInformationPublicService",
    "getContactData": "ContactInformationPublicService",
    "updateContact": "ContactInformationPublicService",
    "deleteContact": "ContactInformationPublicService",
    "createOrUpdateAddress": "ContactInformationPublicService",
    "deleteAddress": "ContactInformationPublicService",
    "setContactCriteria": "ContactInformationPublicService",
    "searchContacts": "ContactInformationPublicService",
}
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XS = "http://www.w3.org/2001/XMLSchema"
DEFAULT_LOGIN = ("DEMO_PARTNER1", "partner1-secret")


# --- endpoint ---------------------------------------------------------------------------------
@dataclass
class Endpoint:
    """An S-360 base URL, a partner login, and the simulator's control plane if it has one."""

    base_url: str
    user: str = DEFAULT_LOGIN[0]
    password: str = DEFAULT_LOGIN[1]
    admin_token: str | None = None
    _admin: Any = field(default=None, init=False, repr=False)
    _admin_checked: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    @property
    def login(self) -> tuple[str, str]:
        return (self.user, self.password)

    @property
    def admin(self) -> Any:
        """An :class:`~mock_server.admin_client.AdminClient` when ``/_mock/health``
        answers (the simulator), else ``None`` (a real S-360 host)."""
        if not self._admin_checked:
            self._admin_checked = True
            from mock_server.admin_client import AdminClient

            candidate = AdminClient(self.base_url, token=self.admin_token, timeout=30)
            try:
                candidate.health()
            except Exception:  # noqa: BLE001 - anything but a JSON 2xx: no control plane
                candidate.close()
            else:
                self._admin = candidate
        return self._admin

    @property
    def has_admin(self) -> bool:
        return self.admin is not None

    def url(self, service: str) -> str:
        return self.base_url + SERVICE_PATHS[service]

    def with_login(self, user: str, password: str) -> Endpoint:
        other = Endpoint(self.base_url, user, password, self.admin_token)
        other._admin, other._admin_checked = self._admin, self._admin_checked
        return other


# --- schema -----------------------------------------------------------------------------------
class _MemoryResolver(etree.Resolver):
    def __init__(self, documents: dict[str, bytes]) -> None:
        super().__init__()
        self.documents = documents

    def resolve(self, url: str, pubid: Any, context: Any) -> Any:
        if url in self.documents:
            return self.resolve_string(self.documents[url], context)
        return None


def schema_from_wsdl(wsdl: bytes) -> etree.XMLSchema:
    """The XSD of a WSDL (its ``wsdl:types`` schemas, imports between them resolved in
    memory) as one lxml validator. elementFormDefault is kept as the WSDL says it."""
    root = etree.fromstring(wsdl)
    schemas = root.findall(f".//{{{XS}}}schema")
    if not schemas:
        raise ValueError("the WSDL has no xs:schema")
    documents: dict[str, bytes] = {}
    for i, schema in enumerate(schemas):
        # tostring() of a subtree declares every namespace in scope (QName attribute
        # values such as type="tns:OrderData" need the WSDL root's declarations).
        documents[f"mem://schema/{i}"] = etree.tostring(schema)
    by_ns = {s.get("targetNamespace", ""): f"mem://schema/{i}" for i, s in enumerate(schemas)}
    for url, text in list(documents.items()):
        doc = etree.fromstring(text)
        changed = False
        for imp in doc.findall(f"{{{XS}}}import"):
            target = by_ns.get(imp.get("namespace", ""))
            if target and not imp.get("schemaLocation"):
                imp.set("schemaLocation", target)
                changed = True
        if changed:
            documents[url] = etree.tostring(doc)
    if len(documents) == 1:
        return etree.XMLSchema(etree.fromstring(documents["mem://schema/0"]))
    wrapper = (
        f'<xs:schema xmlns:xs="{XS}">'
        + "".join(
            f'<xs:import namespace="{ns}" schemaLocation="{url}"/>' for ns, url in by_ns.items()
        )
        + "</xs:schema>"
    )
    parser = etree.XMLParser()
    parser.resolvers.add(_MemoryResolver(documents))
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), parser))


# --- capture ------------------------------------------------------------------------------------
@dataclass
class Exchange:
    """One SOAP call as it went over the wire."""

    service: str
    operation: str
    started: float
    reply: Any = None  # the parsed reply envelope (lxml), None when there was none
    http_headers: dict[str, str] = field(default_factory=dict)
    schema_errors: list[str] = field(default_factory=list)
    fault: str | None = None
    error: str | None = None  # transport error (connection dropped, timeout)

    @property
    def body_element(self) -> Any:
        if self.reply is None:
            return None
        body = self.reply.find(f"{{{SOAP_ENV}}}Body")
        if body is None:
            return None
        children = [c for c in body if isinstance(c.tag, str)]
        return children[0] if children else None

    @property
    def retry_after(self) -> float | None:
        value = {k.lower(): v for k, v in self.http_headers.items()}.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class _Capture:
    """A zeep plugin that keeps each reply envelope and its HTTP headers."""

    def __init__(self) -> None:
        self.local = threading.local()

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> Any:
        return envelope, http_headers

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> Any:
        self.local.reply = (envelope, dict(http_headers or {}))
        return envelope, http_headers

    def take(self) -> tuple[Any, dict[str, str]]:
        reply = getattr(self.local, "reply", None)
        self.local.reply = None
        return reply if reply is not None else (None, {})


class S360Api:
    """zeep clients of the five services for one login, each reply captured and
    checked against the served WSDL's XSD.

    ``api.call("getPOSConfig")`` returns the zeep result; a SOAP fault raises
    ``zeep.exceptions.Fault`` as usual. ``api.exchanges`` keeps the last calls
    (``Exchange``) with their schema errors; ``api.schema_errors`` all of them.
    """

    def __init__(self, endpoint: Endpoint, timeout: float = 30, history: int = 50) -> None:
        import zeep
        from zeep.transports import Transport
        from zeep.wsse.username import UsernameToken

        self.endpoint = endpoint
        self.capture = _Capture()
        self.exchanges: deque[Exchange] = deque(maxlen=history)
        self.schema_errors: list[str] = []
        self.clients: dict[str, Any] = {}
        self.schemas: dict[str, etree.XMLSchema] = {}
        session = requests.Session()
        transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
        settings = zeep.Settings(strict=True, xml_huge_tree=True)
        for service in SERVICE_PATHS:
            wsdl_url = endpoint.url(service) + "?wsdl"
            self.schemas[service] = schema_from_wsdl(session.get(wsdl_url, timeout=timeout).content)
            self.clients[service] = zeep.Client(
                wsdl_url,
                wsse=UsernameToken(*endpoint.login),
                settings=settings,
                transport=transport,
                plugins=[self.capture],
            )

    def service(self, name: str) -> Any:
        return self.clients[name].service

    def call(self, operation: str, **params: Any) -> Any:
        from zeep.exceptions import Fault

        service = OPERATION_SERVICE[operation]
        exchange = Exchange(service, operation, time.monotonic())
        self.exchanges.append(exchange)
        self.capture.take()
        try:
            return getattr(self.clients[service].service, operation)(**params)
        except Fault as fault:
            exchange.fault = str(fault.code)
            raise
        except (requests.RequestException, OSError) as error:
            exchange.error = f"{type(error).__name__}: {error}"
            raise
        finally:
            exchange.reply, exchange.http_headers = self.capture.take()
            self._validate(exchange)

    def _validate(self, exchange: Exchange) -> None:
        element = exchange.body_element
        if element is None or etree.QName(element).localname == "Fault":
            return
        schema = self.schemas[exchange.service]
        if not schema.validate(element):
            for error in schema.error_log:
                message = f"{exchange.operation}: line {error.line}: {error.message}"
                exchange.schema_errors.append(message)
                self.schema_errors.append(message)
