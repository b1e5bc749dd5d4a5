"""The store: one relational database behind SQLAlchemy Core.

Everything backend-specific lives here (engine options, SQLite pragmas and
locking, bulk loading); the core only writes portable SQLAlchemy Core against
``schema``. Adding PostgreSQL means a branch in ``_make_engine`` and
``transaction`` (use SERIALIZABLE or SELECT ... FOR UPDATE), nothing in core.

Transactions:

* ``transaction()``: a read-write transaction. On SQLite it is serialized by a
  process lock and starts with ``BEGIN IMMEDIATE`` so that concurrent writers
  (threads or processes sharing a file) queue instead of failing.
* ``read()``: a read-only transaction: a consistent snapshot (WAL) that never
  waits for writers on a file database. The in-memory database has a single
  connection, so reads are serialized too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from mock_server.store import schema

SCHEMA_VERSION = 1


class StoreError(Exception):
    """The state database cannot be used as asked (bad URL, other dataset, …)."""


class Store:
    def __init__(self, url: str = "sqlite://") -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.in_memory = self.is_sqlite and _sqlite_in_memory(url)
        self._write_lock = threading.Lock()
        # The in-memory database is one connection: every transaction takes the lock.
        self._read_lock: threading.Lock | None = self._write_lock if self.in_memory else None
        # Static per-venue data (capacities) cached for the life of the loaded dataset.
        self.generation = 0
        self._cache: dict[Any, Any] = {}
        self._cache_lock = threading.Lock()

    # -- transactions --------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._write_lock, self.engine.connect() as conn:
            conn = conn.execution_options(s360_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def bulk_transaction(self) -> Iterator[Connection]:
        """A write transaction for loading a whole dataset. On SQLite, foreign keys are
        checked once for the whole load (``PRAGMA foreign_key_check``) instead of row by
        row; any dangling reference aborts the load."""
        with self._write_lock, self.engine.connect() as conn:
            raw: Any = conn.connection.driver_connection  # outside any transaction (autocommit)
            if self.is_sqlite:
                raw.execute("PRAGMA foreign_keys = OFF")
            try:
                conn = conn.execution_options(s360_write=True)
                with conn.begin():
                    yield conn
                    if self.is_sqlite:
                        dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)
                        if dangling:
                            raise StoreError(f"dataset load left dangling references: {dangling}")
            finally:
                if self.is_sqlite:
                    raw.execute("PRAGMA foreign_keys = ON")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        if self._read_lock is not None:
            with self._read_lock, self.engine.connect() as conn, conn.begin():
                yield conn
        else:
            with self.engine.connect() as conn, conn.begin():
                yield conn

    def fetch_raw(self, sql: str) -> list[tuple[Any, ...]]:
        """One read-only statement straight through the DB-API connection, without a
        transaction of ours: a single SELECT is atomic on its own. The cheapest read
        there is, for the per-call checks of the hot path (state tokens)."""
        with self._read_lock or contextlib.nullcontext():
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(sql)
                rows = [tuple(r) for r in cursor.fetchall()]
                cursor.close()
            finally:
                raw.close()  # back to the pool
        return rows

    @contextmanager
    def exclusive_dbapi(self) -> Iterator[Any]:
        """The raw DB-API (sqlite3) connection with this process's writers held off
        (snapshots use SQLite's online backup API: ``mock_server.store.snapshots``)."""
        with self._write_lock:
            raw = self.engine.raw_connection()
            try:
                yield raw.driver_connection
            finally:
                raw.close()

    @property
    def database_path(self) -> str | None:
        """The state file of a file store, None in memory."""
        return None if self.in_memory else self.engine.url.database

    # -- schema and meta -----------------------------------------------------
    def create_schema(self) -> None:
        schema.metadata.create_all(self.engine)

    def drop_schema(self) -> None:
        schema.metadata.drop_all(self.engine)

    def is_loaded(self) -> bool:
        from sqlalchemy import inspect

        if not inspect(self.engine).has_table("meta"):
            return False
        with self.read() as conn:
            return get_meta(conn, "dataset") is not None

    def cached(self, key: Any, compute: Any) -> Any:
        """Memoise ``compute()`` under ``key`` until the dataset is reloaded."""
        full_key = (self.generation, key)
        with self._cache_lock:
            if full_key in self._cache:
                return self._cache[full_key]
        value = compute()
        with self._cache_lock:
            self._cache[full_key] = value
        return value

    def invalidate(self) -> None:
        with self._cache_lock:
            self.generation += 1
            self._cache.clear()

    def dispose(self) -> None:
        self.engine.dispose()


def inserted_id(result: Any) -> int:
    """The primary key of the row an INSERT created."""
    key = result.inserted_primary_key
    if key is None:
        raise StoreError("the insert returned no primary key")
    return int(key[0])


def get_meta(conn: Connection, key: str) -> Any:
    return conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == key)).scalar()


def set_meta(conn: Connection, key: str, value: Any) -> None:
    table = schema.meta
    exists = conn.execute(select(func.count()).where(table.c.key == key)).scalar()
    if exists:
        conn.execute(table.update().where(table.c.key == key).values(value=value))
    else:
        conn.execute(table.insert().values(key=key, value=value))


def fingerprint(doc: Any) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _sqlite_in_memory(url: str) -> bool:
    rest = url.split(":", 1)[1]
    return rest in ("//", "///", "///:memory:") or "mode=memory" in rest


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite:"):
        raise StoreError(
            f"unsupported state URL {url!r}: this version stores state in SQLite "
            "(sqlite:// in memory, or sqlite:///path/to/state.db)"
        )
    if _sqlite_in_memory(url):
        engine = create_engine(
            "sqlite://",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
    else:
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=16,
            max_overflow=16,
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite: we emit BEGIN ourselves.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA busy_timeout = 30000")
        if not _sqlite_in_memory(url):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("s360_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
