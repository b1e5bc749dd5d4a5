"""The control plane's state, shared by the SOAP front door and the admin API.

``ControlPlane`` owns what the simulator does *to* calls rather than what the
platform does *with* them: the virtual clock's persistence, rate limits, fault
rules, the request journal and snapshots. Everything lives in the store, so
several worker processes sharing one state file (``sqlite:///state.db``) agree:

* **Clock.** The clock state (offset or frozen instant) is the ``meta`` row
  ``clock``. Every request starts with :meth:`ControlPlane.sync`, which re-reads
  that row (one primary-key read) and adopts it if another process moved the
  clock. Moving the clock through the control plane (:meth:`move_clock`) reads,
  changes and writes the row in one write transaction, so two processes
  advancing at once both count.
* **Settings and fault rules** are cached per process and tagged with a random
  *version* token (``control_setting['version']``), rewritten by every change;
  ``sync`` reads the token with the clock and reloads the caches when it moved.
* **Rate-limit counters, fault-rule consumption and the journal** are rows,
  written in short write transactions (``BEGIN IMMEDIATE`` on SQLite).

With an in-memory store there is one process by construction: ``sync`` is a no-op.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from mock_server.core import faultinjection, journal, ratelimit
from mock_server.core.clock import Clock, ClockState, format_instant, from_ms
from mock_server.core.faultinjection import Decision, FaultRule
from mock_server.core.journal import JournalEntry, JournalFilter
from mock_server.core.ratelimit import RateLimitConfig, Rejection
from mock_server.store import Store
from mock_server.store.control_schema import CONTROL_TABLES, control_setting
from mock_server.store.snapshots import SnapshotInfo, Snapshots
from mock_server.store.store import get_meta, set_meta

log = logging.getLogger("s360mock.control")

#: The virtual clock stays within what every tool can format (years 1970-9999).
MIN_MS = 0
MAX_MS = 253_402_300_799_999
PRUNE_EVERY = 500  # admitted calls between two global prunes of the rate-limit log


class ClockRangeError(ValueError):
    pass


@dataclass
class ControlSettings:
    """What the control plane starts with (and goes back to on reset)."""

    rate_limits: RateLimitConfig = field(default_factory=lambda: ratelimit.preset("s360"))
    journal_max_entries: int = journal.DEFAULT_MAX_ENTRIES


@dataclass
class Admission:
    """The control plane's verdict on one authenticated call, before it runs."""

    rejection: Rejection | None = None
    faults: Decision = field(default_factory=Decision)


def _set(conn: Connection, key: str, value: Any) -> None:
    t = control_setting
    if conn.execute(t.update().where(t.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(t.insert().values(key=key, value=value))


def _get(conn: Connection, key: str) -> Any:
    return conn.execute(
        select(control_setting.c.value).where(control_setting.c.key == key)
    ).scalar()


def clock_doc(state: ClockState) -> dict[str, Any]:
    return {"offset_ms": state.offset_ms, "frozen_at_ms": state.frozen_at_ms}


def clock_from_doc(doc: Any) -> ClockState | None:
    if not doc:
        return None
    return ClockState(
        int(doc["offset_ms"]), None if doc.get("frozen_at_ms") is None else int(doc["frozen_at_ms"])
    )


class ControlPlane:
    def __init__(self, store: Store, clock: Clock, settings: ControlSettings | None = None) -> None:
        self.store = store
        self.clock = clock
        self.startup = settings or ControlSettings()
        self.shared = not store.in_memory
        self.snapshots = Snapshots(store)
        self._clock_lock = threading.Lock()
        self._clock_seen: ClockState | None = None
        self._cache_lock = threading.Lock()
        self._version: str | None = None
        self._rate = self.startup.rate_limits
        self._journal_max = self.startup.journal_max_entries
        self._rules: list[FaultRule] = []
        self._admitted = 0

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """After reopening a state file: apply the start-up settings (the command line
        wins at start), keep journal, counters and fault rules."""
        for table in CONTROL_TABLES:
            table.create(self.store.engine, checkfirst=True)
        self._write_settings(self.startup.rate_limits, self.startup.journal_max_entries)

    def after_reset(self) -> None:
        """After the dataset was (re)loaded: the control tables are new and empty."""
        self._write_settings(self.startup.rate_limits, self.startup.journal_max_entries)

    def _write_settings(
        self, rate: RateLimitConfig | None = None, journal_max: int | None = None
    ) -> None:
        with self.store.transaction() as conn:
            if rate is not None:
                _set(conn, "rate_limits", rate.to_json())
            if journal_max is not None:
                _set(conn, "journal", {"maxEntries": journal_max})
                journal.trim(conn, journal_max)
            self._bump_and_load(conn)

    def _bump_and_load(self, conn: Connection) -> None:
        _set(conn, "version", secrets.token_hex(8))
        self._load(conn)

    def _load(self, conn: Connection) -> None:
        rate_doc = _get(conn, "rate_limits")
        journal_doc = _get(conn, "journal") or {}
        rules = faultinjection.active_rules(conn)
        version = _get(conn, "version")
        with self._cache_lock:
            self._rate = (
                RateLimitConfig.from_json(rate_doc) if rate_doc else self.startup.rate_limits
            )
            self._journal_max = int(journal_doc.get("maxEntries", self.startup.journal_max_entries))
            self._rules = rules
            self._version = version

    # -- multi-process sync ----------------------------------------------------------------------
    def sync(self) -> None:
        """Adopt the clock and settings other processes may have changed (file stores)."""
        if not self.shared:
            return
        with self._clock_lock, self.store.read() as conn:
            state = clock_from_doc(get_meta(conn, "clock"))
            if _get(conn, "version") != self._version:
                self._load(conn)
            if state is not None and state != self._clock_seen:
                self.clock.restore(state)
                self._clock_seen = state

    # -- clock -------------------------------------------------------------------------------------
    def persist_clock(self, state: ClockState) -> None:
        """The clock's change listener: this process moved its clock directly."""
        with self._clock_lock:
            with self.store.transaction() as conn:
                set_meta(conn, "clock", clock_doc(state))
            self._clock_seen = state

    def note_clock(self, state: ClockState) -> None:
        with self._clock_lock:
            self._clock_seen = state

    def move_clock(self, change: Callable[[Clock], object]) -> ClockState:
        """Apply ``change`` to the clock as stored, in one write transaction
        (multi-process safe), then adopt the result here."""
        with self._clock_lock:
            with self.store.transaction() as conn:
                base = clock_from_doc(get_meta(conn, "clock")) or self.clock.state
                scratch = Clock()
                scratch.restore(base)
                try:
                    change(scratch)
                except (ValueError, OverflowError) as error:
                    raise ClockRangeError(f"cannot move the virtual clock so: {error}") from None
                now = scratch.now_ms()
                if not MIN_MS <= now <= MAX_MS:
                    raise ClockRangeError(
                        "the virtual clock must stay between 1970-01-01 and 9999-12-31"
                    )
                state = scratch.state
                set_meta(conn, "clock", clock_doc(state))
            self.clock.restore(state)
            self._clock_seen = state
            return state

    def clock_json(self) -> dict[str, Any]:
        state = self.clock.state
        now = self.clock.now_ms()
        return {
            "now": format_instant(from_ms(now)),
            "nowMs": now,
            "frozen": state.frozen_at_ms is not None,
            "offsetMs": state.offset_ms if state.frozen_at_ms is None else None,
        }

    # -- rate limits ---------------------------------------------------------------------------------
    @property
    def rate_limits(self) -> RateLimitConfig:
        return self._rate

    def set_rate_limits(self, config: RateLimitConfig) -> None:
        self._write_settings(rate=config)

    def rate_counters(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return ratelimit.counters(conn, self._rate, self.clock.now_ms())

    def reset_rate_counters(self) -> int:
        with self.store.transaction() as conn:
            return ratelimit.reset(conn)

    # -- admission (the SOAP front door calls this once per authenticated call) ------------------
    def admit(
        self, partner: str, service: str, operation: str, digest: Callable[[], str]
    ) -> Admission:
        config = self._rate
        policies = config.applicable(service, operation, partner)
        with self._cache_lock:
            rules = [r for r in self._rules if r.matches(service, operation, partner)]
        if not policies and not rules:
            return Admission()
        with self.store.transaction() as conn:
            now = self.clock.now_ms()
            if policies:
                rejection = ratelimit.check_and_record(
                    conn,
                    policies,
                    partner=partner,
                    service=service,
                    operation=operation,
                    digest=digest,
                    now_ms=now,
                    default_status=config.http_status,
                )
                if rejection is not None:
                    return Admission(rejection=rejection)
                self._admitted += 1
                if self._admitted % PRUNE_EVERY == 0:
                    ratelimit.prune(conn, config, now)
            decision, gone = faultinjection.decide(conn, rules) if rules else (Decision(), set())
        if gone:
            with self._cache_lock:
                self._rules = [r for r in self._rules if r.id not in gone]
        return Admission(faults=decision)

    # -- fault rules ---------------------------------------------------------------------------------
    def add_fault(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction() as conn:
            rule_id = faultinjection.add_rule(conn, spec, self.clock.now_ms())
            self._bump_and_load(conn)
            rule = faultinjection.get_rule(conn, rule_id)
        assert rule is not None
        return rule

    def faults(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return faultinjection.list_rules(conn)

    def fault(self, rule_id: int) -> dict[str, Any] | None:
        with self.store.read() as conn:
            return faultinjection.get_rule(conn, rule_id)

    def delete_fault(self, rule_id: int) -> bool:
        with self.store.transaction() as conn:
            found = faultinjection.delete_rule(conn, rule_id)
            if found:
                self._bump_and_load(conn)
        return found

    def clear_faults(self) -> int:
        with self.store.transaction() as conn:
            n = faultinjection.clear_rules(conn)
            self._bump_and_load(conn)
        return n

    # -- journal ----------------------------------------------------------------------------------------
    @property
    def journal_max_entries(self) -> int:
        return self._journal_max

    def record(self, entry: JournalEntry) -> None:
        """Journal one call (its own short transaction); never fails the reply."""
        if self._journal_max <= 0:
            return
        try:
            with self.store.transaction() as conn:
                journal.record(conn, entry, self._journal_max)
        except Exception:  # noqa: BLE001 - the journal must not turn a reply into an error
            log.exception("could not journal a call")

    def journal(self, query: JournalFilter) -> dict[str, Any]:
        with self.store.read() as conn:
            entries, matching = journal.query(conn, query)
            return {
                "entries": entries,
                "matching": matching,
                "size": journal.count(conn),
                "dropped": journal.dropped(conn),
                "maxEntries": self._journal_max,
            }

    def journal_stats(self) -> dict[str, Any]:
        with self.store.read() as conn:
            return {
                "size": journal.count(conn),
                "dropped": journal.dropped(conn),
                "maxEntries": self._journal_max,
            }

    def clear_journal(self) -> int:
        with self.store.transaction() as conn:
            return journal.clear(conn)

    def set_journal_max(self, max_entries: int) -> None:
        self._write_settings(journal_max=max_entries)

    # -- snapshots ----------------------------------------------------------------------------------------
    def save_snapshot(self, name: str) -> SnapshotInfo:
        return self.snapshots.save(name, self.clock.now_ms())

    def restore_snapshot(self, name: str) -> None:
        """The simulated state and the clock go back; control settings, fault rules,
        rate-limit counters and the journal stay."""
        self.snapshots.restore(name)
        with self._clock_lock, self.store.transaction() as conn:
            state = clock_from_doc(get_meta(conn, "clock"))
            if state is not None:
                self.clock.restore(state)
                self._clock_seen = state
            self._bump_and_load(conn)

    def close(self) -> None:
        self.snapshots.close()
