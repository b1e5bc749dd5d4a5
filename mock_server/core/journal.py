"""The request journal: every SOAP call, as the front door saw it.

One row per call in ``control_journal`` (so every worker process sharing a
state file sees the same journal), written in its own short transaction after
the reply is computed. The journal is bounded: beyond ``max_entries`` the
oldest entries are dropped and counted. ``max_entries = 0`` turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from mock_server.core.clock import format_instant, from_ms
from mock_server.store.control_schema import control_counter as counter
from mock_server.store.control_schema import control_journal as journal
from mock_server.store.store import inserted_id

DEFAULT_MAX_ENTRIES = 10_000
MAX_LIMIT = 10_000
DROPPED = "journal_dropped"

# Bounds of what one entry keeps of the request.
MAX_PARAMS = 20
MAX_VALUES = 20
MAX_TEXT = 100


@dataclass
class JournalEntry:
    at_ms: int
    service: str
    operation: str | None
    partner: str | None
    outcome: str
    http_status: int | None
    duration_ms: float
    params: dict[str, Any] = field(default_factory=dict)
    injected: list[dict[str, Any]] | None = None
    remote_addr: str | None = None
    result: dict[str, Any] | None = None


@dataclass
class JournalFilter:
    partner: str | None = None
    service: str | None = None
    operation: str | None = None
    outcome: str | None = None  # exact, or a prefix ending with '*' ("fault:*")
    http_status: int | None = None
    since_ms: int | None = None  # inclusive
    until_ms: int | None = None  # inclusive
    limit: int = 1000
    newest_first: bool = False


def truncate(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


_INSERT = journal.insert()


def record(conn: Connection, entry: JournalEntry, max_entries: int) -> None:
    if max_entries <= 0:
        return
    row = {
        "at_ms": entry.at_ms,
        "partner": entry.partner,
        "service": entry.service,
        "operation": entry.operation,
        "params": entry.params,
        "outcome": entry.outcome[:160],
        "http_status": entry.http_status,
        "duration_ms": round(entry.duration_ms, 3),
        "injected": entry.injected,
        "remote_addr": entry.remote_addr,
        "result": entry.result,
    }
    new_id = inserted_id(conn.execute(_INSERT, row))  # a cached statement: cheap per call
    if new_id > max_entries:
        dropped = (
            conn.execute(delete(journal).where(journal.c.id <= new_id - max_entries)).rowcount or 0
        )
        if dropped:
            add_dropped(conn, int(dropped))


def add_dropped(conn: Connection, n: int) -> None:
    done = conn.execute(
        update(counter).where(counter.c.name == DROPPED).values(value=counter.c.value + n)
    )
    if not done.rowcount:
        conn.execute(counter.insert().values(name=DROPPED, value=n))


def dropped(conn: Connection) -> int:
    value = conn.execute(select(counter.c.value).where(counter.c.name == DROPPED)).scalar()
    return int(value or 0)


def trim(conn: Connection, max_entries: int) -> int:
    """Apply a (smaller) bound now: drop the oldest entries beyond ``max_entries``."""
    newest = conn.execute(select(func.max(journal.c.id))).scalar()
    if newest is None:
        return 0
    n = int(conn.execute(delete(journal).where(journal.c.id <= newest - max_entries)).rowcount or 0)
    if n:
        add_dropped(conn, n)
    return n


def clear(conn: Connection) -> int:
    n = int(conn.execute(delete(journal)).rowcount or 0)
    conn.execute(delete(counter).where(counter.c.name == DROPPED))
    return n


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(journal)).scalar_one())


def _where(f: JournalFilter) -> list[Any]:
    c = journal.c
    conds: list[Any] = []
    if f.partner is not None:
        conds.append(c.partner == f.partner)
    if f.service is not None:
        conds.append(c.service == f.service)
    if f.operation is not None:
        conds.append(c.operation == f.operation)
    if f.outcome is not None:
        if f.outcome.endswith("*"):
            prefix = f.outcome[:-1]
            conds.append(func.substr(c.outcome, 1, len(prefix)) == prefix)
        else:
            conds.append(c.outcome == f.outcome)
    if f.http_status is not None:
        conds.append(c.http_status == f.http_status)
    if f.since_ms is not None:
        conds.append(c.at_ms >= f.since_ms)
    if f.until_ms is not None:
        conds.append(c.at_ms <= f.until_ms)
    return conds


def query(conn: Connection, f: JournalFilter) -> tuple[list[dict[str, Any]], int]:
    """Matching entries (oldest first unless ``newest_first``) and how many match in all."""
    conds = _where(f)
    total = conn.execute(select(func.count()).select_from(journal).where(*conds)).scalar_one()
    order = journal.c.id.desc() if f.newest_first else journal.c.id
    rows = conn.execute(
        select(journal).where(*conds).order_by(order).limit(max(0, min(f.limit, MAX_LIMIT)))
    )
    return [to_json(r) for r in rows], int(total)


def to_json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "time": format_instant(from_ms(r.at_ms)),
        "timeMs": r.at_ms,
        "partner": r.partner,
        "service": r.service,
        "operation": r.operation,
        "params": r.params,
        "outcome": r.outcome,
        "httpStatus": r.http_status,
        "durationMs": r.duration_ms,
        "injected": r.injected,
        "remoteAddr": r.remote_addr,
        "result": r.result or {},
    }
