"""The control plane (``/_mock/...``): a flask app beside the SOAP services.

JSON in, JSON out, errors included (never an HTML page). Request bodies and
query strings are validated against the JSON Schemas in ``admin/schemas.py``,
which the OpenAPI document at ``/_mock/openapi.json`` embeds. Callers must be on
the loopback interface, unless an admin token is configured: then every caller
must send ``Authorization: Bearer <token>``. Guide: docs/control-plane.md.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

from flask import Blueprint, Flask, jsonify, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from mock_server.admin import schemas
from mock_server.admin.openapi import BadRequest, Route, api, document
from mock_server.core import audit, faultinjection, ratelimit, scenarios
from mock_server.core.clock import format_instant, from_ms, parse_instant, to_ms
from mock_server.core.control import ClockRangeError
from mock_server.core.errors import S360Error
from mock_server.core.journal import MAX_LIMIT, JournalFilter
from mock_server.simulator import Simulator
from mock_server.soap.namespaces import ALL_SERVICES
from mock_server.store.snapshots import SnapshotError, SnapshotInfo, UnknownSnapshot
from mock_server.store.store import get_meta

log = logging.getLogger("s360mock.admin")
MAX_BODY = 1024 * 1024
MAX_ID = 2**63 - 1


class NotFound(Exception):
    pass


def is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _instant(text: str, where: str) -> int:
    try:
        ms = to_ms(parse_instant(text))
    except ValueError as error:
        raise BadRequest("invalid instant", [{"path": where, "message": str(error)}]) from None
    if not 0 <= ms <= 253_402_300_799_999:
        raise BadRequest(
            "invalid instant", [{"path": where, "message": "must be between 1970 and 9999"}]
        )
    return ms


def _snapshot_json(info: SnapshotInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "virtualTime": format_instant(from_ms(info.virtual_ms)),
        "sizeBytes": info.size_bytes,
    }


def create_admin_app(sim: Simulator, root: Any) -> Flask:
    app = Flask("s360mock.admin", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]
    bp = Blueprint("admin", __name__, url_prefix="/_mock")
    routes: list[Route] = []
    control = sim.control
    token = sim.config.admin_token

    def route(rule: str, method: str, summary: str, tag: str, **kw: Any) -> Any:
        return api(bp, routes, rule, method, summary, tag, **kw)

    # -- access -----------------------------------------------------------------------------
    @app.before_request
    def check_access() -> Any:
        if token:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                response = jsonify(
                    error="the admin API needs 'Authorization: Bearer <admin token>'"
                )
                response.headers["WWW-Authenticate"] = 'Bearer realm="s360-mock"'
                return response, 401
        elif not is_loopback(request.remote_addr):
            return jsonify(
                error="the admin API answers loopback callers only; start the simulator with "
                "--admin-token to open it to others"
            ), 403
        control.sync()
        return None

    # -- health, reset, document ------------------------------------------------------------------
    @route("/health", "GET", "Liveness, dataset, clock, mounted services", "simulator")
    def health() -> Any:
        with sim.store.read() as conn:
            dataset = get_meta(conn, "dataset")
        mounted = set(root.soap.by_path)
        return jsonify(
            status="ok",
            dataset=dataset["name"] if dataset else None,
            clock=format_instant(sim.clock.now()),
            rateLimits="on" if control.rate_limits.enabled else "off",
            services=[
                {"name": s.name, "path": s.path, "mounted": s.path in mounted} for s in ALL_SERVICES
            ],
        )

    @route(
        "/reset",
        "POST",
        "Back to the dataset: state, clock, start-up rate limits; no faults, empty journal",
        "simulator",
        body=schemas.EMPTY,
        body_required=False,
    )
    def reset(body: dict[str, Any]) -> Any:
        counts = sim.reset()
        return jsonify(status="reset", counts=counts, clock=control.clock_json())

    @route("/openapi.json", "GET", "This API's OpenAPI 3.1 document", "simulator")
    def openapi() -> Any:
        return jsonify(document(routes))

    # -- clock ------------------------------------------------------------------------------------------
    @route("/clock", "GET", "The virtual clock", "clock")
    def clock_get() -> Any:
        return jsonify(control.clock_json())

    @route(
        "/clock/set",
        "POST",
        "Set the virtual clock (forward or back)",
        "clock",
        body=schemas.CLOCK_SET,
    )
    def clock_set(body: dict[str, Any]) -> Any:
        at = from_ms(_instant(body["time"], "$['time']"))
        control.move_clock(lambda c: c.set(at))
        return jsonify(control.clock_json())

    @route(
        "/clock/advance",
        "POST",
        "Move the virtual clock forward",
        "clock",
        body=schemas.CLOCK_ADVANCE,
    )
    def clock_advance(body: dict[str, Any]) -> Any:
        control.move_clock(lambda c: c.advance(body["seconds"]))
        return jsonify(control.clock_json())

    @route(
        "/clock/freeze",
        "POST",
        "Stop the virtual clock (at a given instant, or now)",
        "clock",
        body=schemas.CLOCK_FREEZE,
        body_required=False,
    )
    def clock_freeze(body: dict[str, Any]) -> Any:
        at = from_ms(_instant(body["time"], "$['time']")) if "time" in body else None

        def freeze(c: Any) -> None:
            c.freeze()
            if at is not None:
                c.set(at)

        control.move_clock(freeze)
        return jsonify(control.clock_json())

    @route(
        "/clock/unfreeze",
        "POST",
        "Let the virtual clock run again from where it stands",
        "clock",
        body=schemas.EMPTY,
        body_required=False,
    )
    def clock_unfreeze(body: dict[str, Any]) -> Any:
        control.move_clock(lambda c: c.unfreeze())
        return jsonify(control.clock_json())

    # -- rate limits ----------------------------------------------------------------------------------------
    @route("/rate-limits", "GET", "The rate-limit policies in force", "rate limits")
    def rate_limits_get() -> Any:
        config = control.rate_limits
        return jsonify(enabled=config.enabled, **config.to_json())

    @route(
        "/rate-limits",
        "PUT",
        "Replace the policies (a policy document, or a preset: s360 | off)",
        "rate limits",
        body=schemas.RATE_LIMITS_PUT,
    )
    def rate_limits_put(body: dict[str, Any]) -> Any:
        try:
            if "preset" in body:
                config = ratelimit.preset(body["preset"]).with_status(body.get("httpStatus"))
            else:
                config = ratelimit.RateLimitConfig.from_json(body)
        except ratelimit.PolicyError as error:
            raise BadRequest(
                "invalid rate-limit policies",
                [{"path": p, "message": m} for p, m in error.problems],
            ) from None
        control.set_rate_limits(config)
        return jsonify(enabled=config.enabled, **config.to_json())

    @route(
        "/rate-limits/counters",
        "GET",
        "Live counters: admitted calls per policy key inside its window",
        "rate limits",
    )
    def counters_get() -> Any:
        return jsonify(now=format_instant(sim.clock.now()), counters=control.rate_counters())

    @route(
        "/rate-limits/counters",
        "DELETE",
        "Forget every admitted call (all limits open)",
        "rate limits",
    )
    def counters_delete() -> Any:
        return jsonify(deleted=control.reset_rate_counters())

    # -- faults ------------------------------------------------------------------------------------------------
    @route(
        "/faults", "GET", "Fault-injection rules, with how often each matched and fired", "faults"
    )
    def faults_get() -> Any:
        return jsonify(faults=control.faults())

    @route(
        "/faults",
        "POST",
        "Add a fault-injection rule",
        "faults",
        body=schemas.FAULT_RULE,
        responses={"201": "the rule, with its id"},
    )
    def faults_post(body: dict[str, Any]) -> Any:
        return jsonify(control.add_fault(body)), 201

    @route("/faults", "DELETE", "Remove every fault-injection rule", "faults")
    def faults_delete() -> Any:
        return jsonify(deleted=control.clear_faults())

    @route("/faults/checkpoints", "GET", "Named checkpoints the domain code offers", "faults")
    def checkpoints_get() -> Any:
        return jsonify(
            checkpoints=[
                {"name": k, "description": v} for k, v in faultinjection.KNOWN_CHECKPOINTS.items()
            ]
        )

    @route(
        "/faults/<int:rule_id>",
        "GET",
        "One fault-injection rule",
        "faults",
        responses={"404": "no such rule"},
    )
    def fault_get(rule_id: int) -> Any:
        rule = control.fault(rule_id) if rule_id <= MAX_ID else None
        if rule is None:
            raise NotFound(f"no fault rule {rule_id}")
        return jsonify(rule)

    @route(
        "/faults/<int:rule_id>",
        "DELETE",
        "Remove one fault-injection rule",
        "faults",
        responses={"404": "no such rule"},
    )
    def fault_delete(rule_id: int) -> Any:
        if rule_id > MAX_ID or not control.delete_fault(rule_id):
            raise NotFound(f"no fault rule {rule_id}")
        return jsonify(deleted=1)

    # -- journal -------------------------------------------------------------------------------------------------
    @route(
        "/journal",
        "GET",
        "Journalled SOAP calls, oldest first, filtered",
        "journal",
        query=schemas.JOURNAL_QUERY,
    )
    def journal_get(query: dict[str, str]) -> Any:
        f = JournalFilter(
            partner=query.get("partner"),
            service=query.get("service"),
            operation=query.get("operation"),
            outcome=query.get("outcome"),
            http_status=int(query["httpStatus"]) if "httpStatus" in query else None,
            since_ms=_instant(query["since"], "?['since']") if "since" in query else None,
            until_ms=_instant(query["until"], "?['until']") if "until" in query else None,
            limit=min(int(query.get("limit", 1000)), MAX_LIMIT),
            newest_first=query.get("order") == "desc",
        )
        return jsonify(control.journal(f))

    @route("/journal", "DELETE", "Empty the journal (and its dropped count)", "journal")
    def journal_delete() -> Any:
        return jsonify(deleted=control.clear_journal())

    @route("/journal/settings", "GET", "Journal size, bound and dropped count", "journal")
    def journal_settings_get() -> Any:
        return jsonify(control.journal_stats())

    @route(
        "/journal/settings",
        "PUT",
        "Bound the journal (the oldest entries beyond it are dropped)",
        "journal",
        body=schemas.JOURNAL_SETTINGS,
    )
    def journal_settings_put(body: dict[str, Any]) -> Any:
        control.set_journal_max(body["maxEntries"])
        return jsonify(control.journal_stats())

    # -- audit -------------------------------------------------------------------------------------------------
    @route("/audit", "GET", "Check the invariants of the simulated state", "audit")
    def audit_get() -> Any:
        with sim.store.read() as conn:
            report = audit.audit(sim.store, conn, sim.clock.now_ms())
        return jsonify(report.to_json())

    # -- snapshots ---------------------------------------------------------------------------------------------
    @route("/snapshots", "GET", "Saved snapshots", "snapshots")
    def snapshots_get() -> Any:
        return jsonify(snapshots=[_snapshot_json(i) for i in control.snapshots.list()])

    @route(
        "/snapshots",
        "POST",
        "Save the whole simulated state (and clock) under a name (replaces one of that name)",
        "snapshots",
        body=schemas.SNAPSHOT,
        responses={"201": "saved"},
    )
    def snapshots_post(body: dict[str, Any]) -> Any:
        return jsonify(_snapshot_json(control.save_snapshot(body["name"]))), 201

    @route(
        "/snapshots/<name>/restore",
        "POST",
        "Go back to a snapshot (control settings, fault rules, counters and journal stay)",
        "snapshots",
        responses={"404": "no such snapshot"},
    )
    def snapshot_restore(name: str) -> Any:
        control.restore_snapshot(name)
        return jsonify(restored=name, clock=control.clock_json())

    @route(
        "/snapshots/<name>",
        "DELETE",
        "Delete a snapshot",
        "snapshots",
        responses={"404": "no such snapshot"},
    )
    def snapshot_delete(name: str) -> Any:
        control.snapshots.delete(name)
        return jsonify(deleted=name)

    # -- catalog changes and availability scenarios -----------------------------------------------------------
    @route(
        "/setup-changes",
        "POST",
        "Change the catalog setup: getLastSetupUpdate moves to the virtual now",
        "scenarios",
        body=schemas.SETUP_CHANGE,
        responses={"404": "unknown season, product, performance or price"},
    )
    def setup_change(body: dict[str, Any]) -> Any:
        now = sim.clock.now_ms()
        with sim.store.transaction() as conn:
            if "seasonId" in body:
                scenarios.change_season(
                    conn, body["seasonId"], state=body.get("state"), name=body.get("externalName")
                )
            elif "productId" in body:
                scenarios.change_product(
                    conn,
                    body["productId"],
                    state=body.get("state"),
                    name=body.get("externalName"),
                    description=body.get("description"),
                    min_quantity=body.get("minQuantity"),
                    alert_ratio=body.get("alertRatio"),
                )
            elif "performanceId" in body:
                start = _instant(body["start"], "$['start']") if "start" in body else None
                scenarios.change_performance(
                    conn,
                    body["performanceId"],
                    state=body.get("state"),
                    start_ms=start,
                    duration_minutes=body.get("durationMinutes"),
                )
            else:
                scenarios.change_price(
                    conn,
                    body["eventId"],
                    body["seatCategoryId"],
                    body["audienceSubCategoryId"],
                    body["priceLevelId"],
                    body["amount"],
                )
            bumped = scenarios.bump_setup(conn, now)
        return jsonify(
            setupVersion=bumped["setupVersion"],
            lastSetupUpdate=format_instant(from_ms(bumped["lastSetupUpdateMs"])),
        )

    @route(
        "/scenarios/sell-out",
        "POST",
        "The box office sells every free seat of a performance (or of one seat category)",
        "scenarios",
        body=schemas.SELL_OUT,
        responses={"404": "unknown performance or seat category"},
    )
    def sell_out(body: dict[str, Any]) -> Any:
        with sim.store.transaction() as conn:
            result = scenarios.sell_out(
                conn, body["performanceId"], body.get("seatCategoryId"), sim.clock.now_ms()
            )
        return jsonify(performanceId=body["performanceId"], **result)

    @route(
        "/scenarios/release",
        "POST",
        "Cancel the box-office sales of a performance: their seats are free again",
        "scenarios",
        body=schemas.RELEASE,
        responses={"404": "unknown performance"},
    )
    def release(body: dict[str, Any]) -> Any:
        with sim.store.transaction() as conn:
            result = scenarios.release(conn, body["performanceId"], sim.clock.now_ms())
        return jsonify(performanceId=body["performanceId"], **result)

    # -- errors: always JSON --------------------------------------------------------------------------------------
    @app.errorhandler(BadRequest)
    def bad_request(error: BadRequest) -> Any:
        return jsonify(error=error.error, problems=error.problems), 400

    @app.errorhandler(NotFound)
    @app.errorhandler(UnknownSnapshot)
    @app.errorhandler(scenarios.UnknownEventOrPrice)
    def not_found(error: Exception) -> Any:
        return jsonify(error=str(error)), 404

    @app.errorhandler(S360Error)
    def domain_error(error: S360Error) -> Any:
        unknown = type(error).__name__.startswith("Unknown")
        return jsonify(error=error.detail, statusCode=error.status_code), 404 if unknown else 400

    @app.errorhandler(SnapshotError)
    @app.errorhandler(ClockRangeError)
    def invalid(error: Exception) -> Any:
        return jsonify(error=str(error), problems=[]), 400

    @app.errorhandler(IntegrityError)
    def conflict(error: IntegrityError) -> Any:
        return jsonify(error=f"the store refused the change: {error.orig}"), 409

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        response = error.get_response()
        response.set_data(app.json.dumps({"error": error.description or error.name}))
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def internal(error: Exception) -> Any:
        log.exception("internal error in the admin API")
        return jsonify(
            error=f"internal error in the simulator: {type(error).__name__} (see its log)"
        ), 500

    app.register_blueprint(bp)
    app.extensions["s360mock.routes"] = routes
    return app
