"""A Python client of the simulator's control plane (``/_mock/...``).

    from mock_server.admin_client import AdminClient

    admin = AdminClient("http://127.0.0.1:8360")
    admin.advance_clock(60)
    admin.add_fault({"type": "drop"}, operation="closeOrder", times=1)
    calls = admin.journal(operation="closeOrder")["entries"]

Every method returns the decoded JSON reply; a non-2xx reply raises
:class:`AdminError` (with ``status`` and the JSON ``payload``: ``error`` and,
for 400, every ``problems[]`` entry). See docs/control-plane.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from mock_server.core.clock import format_instant


class AdminError(Exception):
    def __init__(self, status: int, payload: Any) -> None:
        message = payload.get("error") if isinstance(payload, dict) else str(payload)
        problems = payload.get("problems") if isinstance(payload, dict) else None
        if problems:
            message = f"{message}: " + "; ".join(f"{p['path']}: {p['message']}" for p in problems)
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.payload = payload


def _instant(value: datetime | str) -> str:
    return value if isinstance(value, str) else format_instant(value)


class AdminClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(
        self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_mock{path}", json=json, params=params, timeout=self.timeout
        )
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": response.text}
        if not response.ok:
            raise AdminError(response.status_code, payload)
        return payload

    def close(self) -> None:
        self.session.close()

    # -- simulator ------------------------------------------------------------------------------
    def health(self) -> Any:
        return self.request("GET", "/health")

    def reset(self) -> Any:
        """Back to the dataset, the start-up clock and rate limits; no faults, empty journal."""
        return self.request("POST", "/reset")

    def openapi(self) -> Any:
        return self.request("GET", "/openapi.json")

    # -- clock ------------------------------------------------------------------------------------
    def clock(self) -> Any:
        return self.request("GET", "/clock")

    def set_clock(self, time: datetime | str) -> Any:
        return self.request("POST", "/clock/set", {"time": _instant(time)})

    def advance_clock(self, seconds: float) -> Any:
        return self.request("POST", "/clock/advance", {"seconds": seconds})

    def freeze_clock(self, time: datetime | str | None = None) -> Any:
        return self.request(
            "POST", "/clock/freeze", {} if time is None else {"time": _instant(time)}
        )

    def unfreeze_clock(self) -> Any:
        return self.request("POST", "/clock/unfreeze", {})

    # -- rate limits ----------------------------------------------------------------------------
    def rate_limits(self) -> Any:
        return self.request("GET", "/rate-limits")

    def set_rate_limits(
        self, policies: str | dict[str, Any], http_status: int | None = None
    ) -> Any:
        """``"s360"`` / ``"off"`` (a preset), or a policy document ``{"policies": [...]}``."""
        if isinstance(policies, str):
            body: dict[str, Any] = {"preset": policies}
            if http_status is not None:
                body["httpStatus"] = http_status
        else:
            body = dict(policies)
            if http_status is not None:
                body["httpStatus"] = http_status
        return self.request("PUT", "/rate-limits", body)

    def rate_limit_counters(self) -> Any:
        return self.request("GET", "/rate-limits/counters")

    def reset_rate_limit_counters(self) -> Any:
        return self.request("DELETE", "/rate-limits/counters")

    # -- faults -----------------------------------------------------------------------------------
    def faults(self) -> list[Any]:
        result: list[Any] = self.request("GET", "/faults")["faults"]
        return result

    def add_fault(
        self,
        action: dict[str, Any],
        *,
        service: str | None = None,
        operation: str | None = None,
        partner: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
        description: str | None = None,
    ) -> Any:
        """Add a rule; ``action`` is e.g. ``{"type": "drop"}`` or
        ``{"type": "latency", "ms": 500}``. Returns the rule with its ``id``."""
        rule: dict[str, Any] = {"action": action}
        for key, value in (
            ("service", service),
            ("operation", operation),
            ("partner", partner),
            ("times", times),
            ("probability", probability),
            ("seed", seed),
            ("description", description),
        ):
            if value is not None:
                rule[key] = value
        return self.request("POST", "/faults", rule)

    def fault(self, rule_id: int) -> Any:
        return self.request("GET", f"/faults/{int(rule_id)}")

    def delete_fault(self, rule_id: int) -> Any:
        return self.request("DELETE", f"/faults/{int(rule_id)}")

    def clear_faults(self) -> Any:
        return self.request("DELETE", "/faults")

    def checkpoints(self) -> Any:
        return self.request("GET", "/faults/checkpoints")["checkpoints"]

    # -- journal ------------------------------------------------------------------------------------
    def journal(
        self,
        *,
        partner: str | None = None,
        service: str | None = None,
        operation: str | None = None,
        outcome: str | None = None,
        http_status: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Any:
        """``{"entries": [...], "matching", "size", "dropped", "maxEntries"}``."""
        params: dict[str, Any] = {}
        for key, value in (
            ("partner", partner),
            ("service", service),
            ("operation", operation),
            ("outcome", outcome),
            ("httpStatus", http_status),
            ("limit", limit),
        ):
            if value is not None:
                params[key] = str(value)
        if since is not None:
            params["since"] = _instant(since)
        if until is not None:
            params["until"] = _instant(until)
        if newest_first:
            params["order"] = "desc"
        return self.request("GET", "/journal", params=params)

    def clear_journal(self) -> Any:
        return self.request("DELETE", "/journal")

    def journal_settings(self) -> Any:
        return self.request("GET", "/journal/settings")

    def set_journal_max(self, max_entries: int) -> Any:
        return self.request("PUT", "/journal/settings", {"maxEntries": max_entries})

    # -- audit ----------------------------------------------------------------------------------------
    def audit(self) -> Any:
        """``{"ok": bool, "checks": [...], "violations": [...]}``."""
        return self.request("GET", "/audit")

    # -- snapshots -----------------------------------------------------------------------------------
    def snapshots(self) -> list[Any]:
        result: list[Any] = self.request("GET", "/snapshots")["snapshots"]
        return result

    def save_snapshot(self, name: str) -> Any:
        return self.request("POST", "/snapshots", {"name": name})

    def restore_snapshot(self, name: str) -> Any:
        return self.request("POST", f"/snapshots/{quote(name, safe='')}/restore")

    def delete_snapshot(self, name: str) -> Any:
        return self.request("DELETE", f"/snapshots/{quote(name, safe='')}")

    # -- catalog changes and scenarios ------------------------------------------------------------------
    def setup_change(self, change: dict[str, Any] | None = None, **fields: Any) -> Any:
        """``setup_change(productId=8001, state="SUSPENDED")`` or a dict."""
        return self.request("POST", "/setup-changes", {**(change or {}), **fields})

    def sell_out(self, performance_id: int, seat_category_id: int | None = None) -> Any:
        body: dict[str, Any] = {"performanceId": performance_id}
        if seat_category_id is not None:
            body["seatCategoryId"] = seat_category_id
        return self.request("POST", "/scenarios/sell-out", body)

    def release(self, performance_id: int) -> Any:
        return self.request("POST", "/scenarios/release", {"performanceId": performance_id})
