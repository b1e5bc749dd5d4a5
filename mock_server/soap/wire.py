"""The SOAP front door: everything between the HTTP request and a spyne service.

spyne alone lets malformed requests escape as HTML pages or dropped
connections, qualifies child elements (S-360 does not), and knows nothing of
WS-Security. This WSGI layer does, for every call, in this order:

1. read the body (size limit, charset), parse it safely (no DTD, no entities);
2. check it is a SOAP 1.1 envelope with one operation of this service, in the
   service namespace with or without a trailing ``/``;
3. authenticate the WS-Security UsernameToken (all client variants);
4. admit the call (control plane): rate limits, then fault injection; both
   decided in one write transaction (``ControlPlane.admit``);
5. hand the normalized envelope to spyne, which calls one core function;
6. strip namespaces below the operation element of the reply (JAX-WS wire style);
7. journal the call (``ControlPlane.record``), whatever its outcome.

Every failure on the way is a SOAP 1.1 Fault (HTTP 500, text/xml), never HTML;
a refused call is HTTP 429 (or 509) with ``Retry-After`` and a
``Client.RateLimitExceeded`` fault (docs/control-plane.md).
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import io
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import spyne.const
from lxml import etree
from spyne import Application, Fault
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from mock_server.core import faultinjection, partners
from mock_server.core.availability import next_change_ms
from mock_server.core.errors import (
    AuthenticationFailed,
    ClientFault,
    MalformedRequest,
    S360Error,
    UnknownOperation,
)
from mock_server.core.faultinjection import CallScope, InjectedStatus
from mock_server.core.journal import MAX_PARAMS, MAX_VALUES, JournalEntry, truncate
from mock_server.core.model import Partner
from mock_server.core.ratelimit import Rejection
from mock_server.simulator import Simulator
from mock_server.soap import faults
from mock_server.soap.cache import CACHEABLE, ReplyCache
from mock_server.soap.fastpath import FAST
from mock_server.soap.namespaces import SOAP11_ENV, SOAP12_ENV, ServiceInfo
from mock_server.soap.services import CallContext, request_id
from mock_server.store import versioning

log = logging.getLogger("s360mock.soap")
# spyne runs a full gc.collect() at most once a second at the end of a call, to close
# uploaded files early. The simulator takes no file uploads, and on a big heap (the large
# dataset) a full collection costs tens of milliseconds of every second: turn it off.
spyne.const.MIN_GC_INTERVAL = float("inf")
# spyne logs every client fault with a traceback: that is noise for a simulator.
for _name in ("spyne", "spyne.application", "spyne.application.client", "spyne.application.server"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

MAX_BODY = 10 * 1024 * 1024
WSDL_PLACEHOLDER = "http://s360-mock.invalid/PLACEHOLDER"
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)
_CHARSET_RE = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)\"?", re.I)
_XML_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*encoding", re.I)


class S360Application(Application):  # type: ignore[misc]
    """spyne Application whose user-code errors are mapped in ONE place (faults.py)."""

    def call_wrapper(self, ctx: Any) -> Any:
        try:
            scope = faultinjection.current_scope()
            if scope is not None and scope.replace_result is not None:
                raise scope.replace_result  # fault injection: answer this instead of running
            return super().call_wrapper(ctx)
        except (S360Error, InjectedStatus) as error:
            result_cls = ctx.descriptor.out_message._type_info[0]
            req = getattr(ctx.in_object, "requestId", None) if ctx.in_object is not None else None
            forced = error.request_id if isinstance(error, InjectedStatus) else None
            return faults.error_result(result_cls, error, forced or request_id(req))  # type: ignore[arg-type]
        except Fault:
            raise
        except Exception as error:  # noqa: BLE001 - the one place unexpected errors become faults
            raise faults.to_spyne_fault(error) from None


def _strip_child_namespaces(ctx: Any) -> None:
    """JAX-WS wire style: below the ``{tns}opResponse`` element, nothing is qualified."""
    body = ctx.out_body_doc
    if body is None or ctx.out_error is not None or not len(body):
        return
    for el in body[0].iterdescendants():
        tag = el.tag
        if isinstance(tag, str) and tag[0] == "{":
            el.tag = tag[tag.index("}") + 1 :]
    etree.cleanup_namespaces(ctx.out_document)


@dataclass
class Call:
    """One SOAP call as the front door saw it: for hooks (journal, rate limits)."""

    service: ServiceInfo
    operation: str = ""
    partner: Partner | None = None
    started: float = field(default_factory=time.perf_counter)
    outcome: str = ""  # "success", an S-360 status code, "fault:<code>", "rate-limited", "dropped"
    at_ms: int = 0  # virtual time the call arrived
    login: str | None = None  # the UsernameToken's login, authenticated or not
    params: dict[str, Any] = field(default_factory=dict)
    http_status: int | None = None  # None: no reply (connection dropped)
    injected: list[dict[str, Any]] = field(default_factory=list)
    remote_addr: str | None = None
    dropped: bool = False
    result: dict[str, Any] = field(default_factory=dict)  # key fields of the reply


class ConnectionDropped(ConnectionResetError):
    """Raised out of the WSGI app to close the connection without a reply.

    The server (cheroot) treats ECONNRESET from the application as a dead client:
    it closes the socket without writing anything, so the client sees the
    connection end with no response (requests: ``ConnectionError``)."""

    def __init__(self) -> None:
        super().__init__(errno.ECONNRESET, "connection dropped by fault injection")


@dataclass(frozen=True)
class _Pending:
    key: tuple[str, ...]
    token_name: str
    token: str
    until: int | None


class SoapEndpoint:
    """One S-360 service at its path: WSDL on GET ?wsdl, calls on POST."""

    cache: ReplyCache | None = None  # set by the gateway

    def __init__(self, sim: Simulator, info: ServiceInfo, service_class: type) -> None:
        self.sim = sim
        self.info = info
        self.app = S360Application(
            [service_class],
            tns=info.tns,
            name=info.name,
            in_protocol=Soap11(validator="soft"),
            out_protocol=Soap11(),
        )
        self.app.out_protocol.event_manager.add_listener("after_serialize", _strip_child_namespaces)
        self.app.event_manager.add_listener("method_call", self._attach_context)
        self.spyne = WsgiApplication(self.app)
        self.operations = frozenset(self.app.interface.service_method_map.keys())
        self.op_names = frozenset(k.split("}", 1)[1] for k in self.operations)
        self._wsdl_template = self._build_wsdl()

    def _build_wsdl(self) -> bytes:
        wsdl = self.spyne.doc.wsdl11
        wsdl.element_form_default = "unqualified"
        wsdl.build_interface_document(WSDL_PLACEHOLDER)
        document: bytes = wsdl.get_interface_document()
        return document

    def wsdl(self, base_url: str) -> bytes:
        return self._wsdl_template.replace(
            WSDL_PLACEHOLDER.encode(), (base_url + self.info.path).encode()
        )

    def _attach_context(self, ctx: Any) -> None:
        env = ctx.transport.req_env
        ctx.udc = CallContext(
            sim=self.sim, partner=env["s360.partner"], checkpoint=faultinjection.checkpoint
        )

    # -- the call pipeline --------------------------------------------------------
    def handle_post(
        self, environ: dict[str, Any], call: Call
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        body = _read_body(environ)
        root = _parse(body, environ.get("CONTENT_TYPE", ""))
        body_el, header_el = _envelope_parts(root)
        named = [c for c in body_el if isinstance(c.tag, str)]
        if len(named) == 1:  # journalled even if it turns out not to be an operation
            call.operation = _local(named[0])[:128]
        with contextlib.suppress(ClientFault):
            call.login = _username_token(header_el)[0][:128] or None
        operation = self._operation(body_el)
        call.operation = operation.tag.split("}", 1)[1]
        call.params = key_params(operation)
        call.partner = self._authenticate(header_el, call)
        if header_el is not None:
            root.remove(header_el)  # WS-Security is done; spyne need not see it

        # Rate limits, then fault injection: after authentication, before the operation.
        admission = self.sim.control.admit(
            call.partner.login, self.info.name, call.operation, lambda: arguments_digest(operation)
        )
        if admission.rejection is not None:
            call.outcome = "rate-limited"
            call.result = {"retryAfter": admission.rejection.retry_after_s}
            return rate_limited_reply(admission.rejection)
        plan = admission.faults
        call.injected = plan.fired
        if plan.latency_ms:
            time.sleep(min(plan.latency_ms, faultinjection.MAX_LATENCY_MS) / 1000)
        scope = CallScope(
            self.info.name, call.operation, call.partner.login, checkpoints=dict(plan.checkpoints)
        )
        before = plan.before
        if before is not None:
            kind = before["type"]
            if kind == "drop":
                call.outcome = "dropped"
                raise ConnectionDropped()
            if kind in ("fault", "http"):
                code = before.get("faultCode") or (
                    "Server" if kind == "http" else "Server.InjectedFault"
                )
                http = int(before.get("httpStatus") or 500)
                message = (
                    before.get("faultString")
                    or f"fault injected by the simulator (rule {before['ruleId']})"
                )
                call.outcome = f"fault:{code}"
                return _status_line(http), [], faults.fault_envelope(code, message)
            if kind == "status":
                detail = (
                    before.get("statusDetail")
                    or f"status injected by the simulator (rule {before['ruleId']})"
                )
                scope.replace_result = InjectedStatus(before["statusCode"], detail)
            elif kind == "in_progress":
                scope.replace_result = InjectedStatus(
                    "in_progress",
                    "the request is being processed: call again with its requestId",
                    before.get("requestId") or None,
                )
        cached = self._cached_reply(operation, call, plan)
        if isinstance(cached, bytes):
            call.outcome = "success"
            call.result = {"statusCode": "success", "cached": True}
            return "200 OK", [], cached
        fast = FAST.get((self.info.name, call.operation)) if not plan.fired else None
        out = fast(self.sim, call.partner, operation, uuid.uuid4().hex) if fast else None
        if out is not None:
            status, headers = "200 OK", []
            call.outcome = "success"
        else:
            payload = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
            with faultinjection.call_scope(scope):
                status, headers, out = self._run_spyne(environ, payload, call)
        if cached is not None and status.startswith("200"):
            self._remember(cached, out)
        call.result = result_summary(out)
        after = plan.after
        if after is not None:  # the operation ran and committed; its reply is lost
            call.result["replyLost"] = True
            if after.get("then", "drop") == "drop":
                raise ConnectionDropped()
            http = int(after.get("httpStatus") or 500)
            return (
                _status_line(http),
                [],
                faults.fault_envelope(
                    "Server",
                    "the reply was lost (fault injected by the simulator after the operation ran)",
                ),
            )
        return status, headers, out

    # -- reply cache (mock_server/soap/cache.py) ----------------------------------------
    def _cached_reply(self, operation: Any, call: Call, plan: Any) -> bytes | _Pending | None:
        """The cached reply (bytes), or what is needed to cache the reply about to be
        computed (_Pending), or None when this call is not cacheable."""
        rule = CACHEABLE.get((self.info.name, call.operation))
        if rule is None or self.cache is None or plan.fired or call.partner is None:
            return None
        token_name, timed = rule
        key = (self.info.name, call.operation, call.partner.login, arguments_digest(operation))
        request_id = next((c.text for c in operation if _local(c) == "requestId"), None)
        store = self.sim.store
        token = dict(store.fetch_raw(versioning.TOKENS_SQL)).get(token_name)
        if token is None:
            return None
        entry = self.cache.get(key, token, self.sim.clock.now_ms())
        if entry is not None:
            return entry.render(request_id)
        with store.read() as conn:  # a miss: the token and the time bound, in one snapshot
            token = versioning.tokens(conn).get(token_name)
            if token is None:
                return None
            until = next_change_ms(conn, self.sim.clock.now_ms()) if timed else None
        return _Pending(key, token_name, token, until)

    def _remember(self, pending: _Pending, out: bytes) -> None:
        assert self.cache is not None
        still = dict(self.sim.store.fetch_raw(versioning.TOKENS_SQL)).get(pending.token_name)
        if still == pending.token:  # nothing was written while the answer was computed
            self.cache.put(pending.key, out, pending.token, self.sim.clock.now_ms(), pending.until)

    def _operation(self, body_el: Any) -> Any:
        children = [c for c in body_el if isinstance(c.tag, str)]
        if len(children) != 1:
            raise MalformedRequest(
                f"soap:Body must hold exactly one operation element, found {len(children)}"
            )
        el = children[0]
        qname = etree.QName(el)
        namespace = (qname.namespace or "").rstrip("/")
        if namespace != self.info.tns:
            raise UnknownOperation(
                f"{qname.localname!r} in namespace {qname.namespace!r}: {self.info.name} expects "
                f"operations in {self.info.tns!r} (a trailing '/' is accepted)"
            )
        if qname.localname not in self.op_names:
            raise UnknownOperation(
                f"{self.info.name} has no operation {qname.localname!r}; it has: "
                + ", ".join(sorted(self.op_names))
            )
        if qname.namespace != self.info.tns:
            el.tag = f"{{{self.info.tns}}}{qname.localname}"
        return el

    def _authenticate(self, header_el: Any, call: Call) -> Partner:
        login, password = _username_token(header_el)
        call.login = login or None
        return partners.authenticate(self.sim.store, login, password)

    def _run_spyne(
        self, environ: dict[str, Any], payload: bytes, call: Call
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        inner = dict(environ)
        inner["wsgi.input"] = io.BytesIO(payload)
        inner["CONTENT_LENGTH"] = str(len(payload))
        inner["CONTENT_TYPE"] = "text/xml; charset=utf-8"
        inner["REQUEST_METHOD"] = "POST"
        inner["QUERY_STRING"] = ""
        inner["s360.partner"] = call.partner
        captured: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> None:
            captured["status"] = status
            captured["headers"] = headers

        chunks = self.spyne(inner, start_response)
        try:
            out = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        status = captured.get("status", "500 Internal Server Error")
        call.outcome = _outcome(status, out)
        headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
        return status, headers, out


# --- control plane helpers ----------------------------------------------------------------
def key_params(operation: Any) -> dict[str, Any]:
    """Every leaf element of the request with a text value (ids, codes, dates, amounts,
    nested ones too: ``performanceId`` inside ``operationAttributions``), by local
    name, truncated: what the journal keeps of a request. Repeated names become lists."""
    params: dict[str, Any] = {}
    for child in operation.iterdescendants():
        if not isinstance(child.tag, str) or len(child):
            continue
        text = (child.text or "").strip()
        if not text:
            continue
        name = _local(child)
        value = truncate(text)
        if name in params:
            current = params[name]
            if not isinstance(current, list):
                current = params[name] = [current]
            if len(current) < MAX_VALUES:
                current.append(value)
        elif len(params) < MAX_PARAMS:
            params[name] = value
    return params


def _canonical(el: Any) -> str:
    parts = [_local(el), "(", (el.text or "").strip()]
    for child in el:
        if isinstance(child.tag, str):
            parts.append(_canonical(child))
    parts.append(")")
    return "".join(parts)


def arguments_digest(operation: Any) -> str:
    """A digest of the arguments (namespace prefixes and requestId ignored), for
    rate-limit policies keyed on partner + operation + arguments."""
    canon = "".join(
        _canonical(c) for c in operation if isinstance(c.tag, str) and _local(c) != "requestId"
    )
    return hashlib.sha256(canon.encode()).hexdigest()[:32]


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    509: "Bandwidth Limit Exceeded",
}


def _status_line(code: int) -> str:
    return f"{code} {_REASONS.get(code, 'Error')}"


def rate_limited_reply(rejection: Rejection) -> tuple[str, list[tuple[str, str]], bytes]:
    """HTTP 429 (or 509), ``Retry-After`` in whole seconds (virtual clock), and a
    SOAP 1.1 Fault ``Client.RateLimitExceeded`` whose detail says which policy."""
    p = rejection.policy
    window = p.window_ms / 1000
    window_text = f"{window:g}"
    retry = rejection.retry_after_s
    message = (
        f"Rate limit exceeded: policy '{p.name}' allows {p.limit} call(s) per {window_text} s "
        f"per {p.key.replace('+', ' and ')}; retry after {retry} s"
    )
    detail = (
        f"<detail><rateLimit><policy>{escape(p.name)}</policy><limit>{p.limit}</limit>"
        f"<windowSeconds>{window_text}</windowSeconds><key>{escape(p.key)}</key>"
        f"<retryAfterSeconds>{retry}</retryAfterSeconds></rateLimit></detail>"
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP11_ENV}"><soap:Body><soap:Fault>'
        "<faultcode>soap:Client.RateLimitExceeded</faultcode>"
        f"<faultstring>{escape(message)}</faultstring>{detail}"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()
    return _status_line(rejection.http_status), [("Retry-After", str(retry))], body


_SUMMARY_FIELDS = ("statusCode", "orderId", "orderState", "totalAmount", "saleAmount", "lastUpdate")
_SUMMARY_RE = {
    name: re.compile(rb"<" + name.encode() + rb">([^<]{0,100})</" + name.encode() + rb">")
    for name in _SUMMARY_FIELDS
}


def result_summary(out: bytes) -> dict[str, Any]:
    """Key fields of a reply for the journal (first occurrence of each), plus the
    number of tickets and barcodes issued. Cheap: regular expressions, no parse."""
    summary: dict[str, Any] = {}
    for name, pattern in _SUMMARY_RE.items():
        match = pattern.search(out)
        if match:
            text = match.group(1).decode("utf-8", "replace")
            summary[name] = (
                int(text) if text.lstrip("-").isdigit() and name != "statusCode" else text
            )
    if b"<tickets>" in out:
        summary["tickets"] = out.count(b"<tickets>")
        summary["barcodes"] = len(re.findall(rb"<barcode>[0-9]+</barcode>", out))
    return summary


def _outcome(status: str, out: bytes) -> str:
    if status.startswith("200"):
        match = re.search(rb"<statusCode>([^<]*)</statusCode>", out)
        return match.group(1).decode() if match else "success"
    match = re.search(rb"<faultcode>(?:[^:<]*:)?([^<]*)</faultcode>", out)
    return "fault:" + (match.group(1).decode() if match else "Server")


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise MalformedRequest("invalid Content-Length") from None
    if length > MAX_BODY:
        raise MalformedRequest(f"request body larger than {MAX_BODY} bytes")
    stream = environ["wsgi.input"]
    data: bytes = stream.read(length) if length else stream.read(MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise MalformedRequest(f"request body larger than {MAX_BODY} bytes")
    if not data.strip():
        raise MalformedRequest("empty request body: POST a SOAP 1.1 envelope")
    return data


def _parse(body: bytes, content_type: str) -> Any:
    match = _CHARSET_RE.search(content_type or "")
    if match:
        charset = match.group(1)
        try:
            codec = codecs.lookup(charset)
        except LookupError:
            raise MalformedRequest(f"unsupported charset {charset!r} in Content-Type") from None
        if codec.name not in ("utf-8", "ascii") and not _XML_DECL_RE.match(body):
            # No XML declaration: the HTTP charset decides (else the declaration does).
            try:
                body = body.decode(codec.name).encode("utf-8")
            except UnicodeDecodeError as error:
                raise MalformedRequest(f"body is not valid {charset}: {error}") from None
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as error:
        raise MalformedRequest(f"malformed XML: {error}") from None
    except ValueError as error:
        raise MalformedRequest(f"unreadable XML: {error}") from None
    if root.getroottree().docinfo.doctype:
        raise MalformedRequest("a DOCTYPE is not allowed in a SOAP message")
    return root


def _envelope_parts(root: Any) -> tuple[Any, Any]:
    qname = etree.QName(root)
    if qname.localname == "Envelope" and qname.namespace == SOAP12_ENV:
        raise VersionMismatch("SOAP 1.2 is not supported by S-360: send a SOAP 1.1 envelope")
    if qname.localname != "Envelope" or qname.namespace != SOAP11_ENV:
        raise MalformedRequest(
            f"the root element must be a SOAP 1.1 Envelope ({SOAP11_ENV}), not {root.tag!r}"
        )
    body = root.find(f"{{{SOAP11_ENV}}}Body")
    if body is None:
        raise MalformedRequest("the envelope has no soap:Body")
    header = root.find(f"{{{SOAP11_ENV}}}Header")
    return body, header


class VersionMismatch(ClientFault):
    fault_code = "VersionMismatch"


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child(parent: Any, name: str) -> Any:
    for c in parent:
        if _local(c) == name:
            return c
    return None


def _username_token(header: Any) -> tuple[str, str]:
    """Login and password of a WS-Security UsernameToken, whatever its decorations
    (mustUnderstand, wsu:Id, Type=#PasswordText or none, Nonce, Created)."""
    missing = AuthenticationFailed(
        "missing WS-Security header: send wsse:Security/wsse:UsernameToken with "
        "Username ({INSTITUTION}_{OPERATOR}) and Password (PasswordText)"
    )
    if header is None:
        raise missing
    security = _child(header, "Security")
    token = _child(security, "UsernameToken") if security is not None else None
    if token is None:
        raise missing
    user = _child(token, "Username")
    password = _child(token, "Password")
    if user is None or password is None:
        raise AuthenticationFailed("UsernameToken needs both Username and Password")
    kind = password.get("Type", "")
    if kind.endswith("#PasswordDigest"):
        raise AuthenticationFailed(
            "PasswordDigest is not accepted by S-360: send the password as text"
        )
    return (user.text or "").strip(), password.text or ""


# --- the WSGI application of all SOAP services -------------------------------------------
Responder = Callable[[str, list[tuple[str, str]]], Any]


class SoapGateway:
    """Routes the S-360 service paths to their endpoints; answers faults for the rest."""

    def __init__(self, sim: Simulator, endpoints: Iterable[SoapEndpoint]) -> None:
        self.sim = sim
        self.by_path = {e.info.path: e for e in endpoints}
        self.cache = ReplyCache() if sim.config.reply_cache else None
        for endpoint in self.by_path.values():
            endpoint.cache = self.cache
        self.hooks: list[Callable[[Call, str], None]] = []  # called after each call: (call, status)

    def __call__(self, environ: dict[str, Any], start_response: Responder) -> Iterable[bytes]:
        endpoint = self.by_path.get(environ.get("PATH_INFO", ""))
        if endpoint is None:
            return _reply(
                start_response,
                "404 Not Found",
                faults.fault_envelope(
                    "Client.UnknownService", f"no S-360 service at {environ.get('PATH_INFO')!r}"
                ),
            )
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("GET", "HEAD"):
            if environ.get("QUERY_STRING", "").lower().startswith("wsdl"):
                body = endpoint.wsdl(_base_url(environ))
                return _reply(start_response, "200 OK", body if method == "GET" else b"")
            return _reply(
                start_response,
                "405 Method Not Allowed",
                faults.fault_envelope(
                    "Client", f"POST a SOAP 1.1 envelope, or GET {endpoint.info.path}?wsdl"
                ),
                [("Allow", "GET, POST")],
            )
        if method != "POST":
            return _reply(
                start_response,
                "405 Method Not Allowed",
                faults.fault_envelope(
                    "Client", f"method {method} not allowed: POST a SOAP 1.1 envelope"
                ),
                [("Allow", "GET, POST")],
            )
        control = self.sim.control
        call = Call(service=endpoint.info, remote_addr=environ.get("REMOTE_ADDR"))
        status: str | None
        try:
            control.sync()  # the clock and settings other worker processes may have changed
            call.at_ms = self.sim.clock.now_ms()
            status, headers, body = endpoint.handle_post(environ, call)
        except ConnectionDropped:
            call.dropped = True
            status, headers, body = None, [], b""
        except ClientFault as error:
            call.outcome = f"fault:{error.fault_code}"
            status, headers, body = (
                "500 Internal Server Error",
                [],
                faults.fault_envelope(error.fault_code, error.message),
            )
        except Exception:  # noqa: BLE001 - never a traceback or an HTML page on the wire
            log.exception("internal error in the SOAP front door")
            call.outcome = "fault:Server"
            status, headers, body = (
                "500 Internal Server Error",
                [],
                faults.fault_envelope("Server", "Internal error in the simulator (see its log)"),
            )
        call.http_status = int(status.split(" ", 1)[0]) if status else None
        control.record(
            JournalEntry(
                at_ms=call.at_ms,
                service=call.service.name,
                operation=call.operation or None,
                partner=call.partner.login if call.partner is not None else call.login,
                outcome=call.outcome or "unknown",
                http_status=call.http_status,
                duration_ms=(time.perf_counter() - call.started) * 1000,
                params=call.params,
                injected=call.injected or None,
                remote_addr=call.remote_addr,
                result=call.result or None,
            )
        )
        for hook in self.hooks:
            hook(call, status or "")
        if status is None:
            raise ConnectionDropped()
        return _reply(start_response, status, body, headers)


def _base_url(environ: dict[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = (
        environ.get("HTTP_HOST")
        or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
    )
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}"


def _reply(
    start_response: Responder,
    status: str,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    out = [
        (k, v) for k, v in (headers or []) if k.lower() not in ("content-type", "content-length")
    ]
    out.append(("Content-Type", "text/xml; charset=utf-8"))
    out.append(("Content-Length", str(len(body))))
    start_response(status, out)
    return [body]
