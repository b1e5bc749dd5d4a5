"""Tables of the control plane (docs/control-plane.md), on the same ``metadata`` as
the domain schema so that ``create_all`` / ``drop_all`` (dataset load, reset) cover
them.

They hold what several worker processes sharing one state file must agree on:
settings (rate-limit policies, journal size) and their version, the sliding
log of admitted calls per rate-limit key, fault-injection rules, and the
request journal. Every table name starts with ``control_``: snapshots restore
every table except these (the journal and the control settings are not part of
the simulated platform's state).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, String, Table, Text

from mock_server.store.schema import SERIAL, metadata

CONTROL_PREFIX = "control_"

# Settings as JSON documents: "rate_limits", "journal", "version" (a random token
# rewritten by every change, so other processes know to reload).
control_setting = Table(
    "control_setting",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)

# Integer counters updated in place (journal_dropped).
control_counter = Table(
    "control_counter",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# The sliding log of admitted calls: one row per admitted call and policy key.
control_rate_hit = Table(
    "control_rate_hit",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("key", String(512), nullable=False),
    Column("policy", String(64), nullable=False),
    Column("partner", String(128), nullable=False),
    Column("operation", String(256), nullable=True),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_control_rate_hit_key_at", "key", "at_ms"),
    Index("ix_control_rate_hit_at", "at_ms"),
)

# How many calls each key's log holds (kept with the log, so checking a limit does not
# count the log: O(log n) per call even for a limit of a million a minute).
control_rate_key = Table(
    "control_rate_key",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# Fault-injection rules, in the order they were added.
control_fault_rule = Table(
    "control_fault_rule",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("spec", JSON, nullable=False),
    Column("remaining", Integer, nullable=True),  # NULL: no limit
    Column("matched", BigInteger, nullable=False, default=0),
    Column("fired", BigInteger, nullable=False, default=0),
    Column("created_ms", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

# The request journal: one row per SOAP call. AUTOINCREMENT keeps ids growing
# after a clear, so "drop the oldest" is a range delete on the primary key.
control_journal = Table(
    "control_journal",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("partner", String(128), nullable=True),
    Column("service", String(64), nullable=False),
    Column("operation", String(128), nullable=True),
    Column("params", JSON, nullable=False),
    Column("outcome", String(160), nullable=False),
    Column("http_status", Integer, nullable=True),  # NULL: the connection was dropped
    Column("duration_ms", Float, nullable=False),
    Column("injected", JSON, nullable=True),
    Column("remote_addr", Text, nullable=True),
    # Key fields of the reply: statusCode, orderId, totalAmount, orderState, retryAfter …
    Column("result", JSON, nullable=True),
    Index("ix_control_journal_at", "at_ms"),
    sqlite_autoincrement=True,
)

CONTROL_TABLES = (
    control_setting,
    control_counter,
    control_rate_hit,
    control_rate_key,
    control_fault_rule,
    control_journal,
)
