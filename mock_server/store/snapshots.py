"""Snapshots of the whole simulated state, with SQLite's online backup API.

A snapshot copies every table (domain state and the ``meta`` rows: clock, setup
version) at once. In-memory stores keep snapshots in memory (one in-memory
SQLite database each); file stores keep them as files in ``<state>.snapshots/``
beside the state file, so every worker process sharing it sees the same list.

Restoring copies the snapshot back over the live database, except the control
plane's own tables (``control_*``: settings, fault rules, rate-limit log, request
journal): they describe the simulator, not the simulated platform, and are
kept as they are.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_server.store.control_schema import CONTROL_TABLES
from mock_server.store.store import Store

NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)


class SnapshotError(Exception):
    pass


class UnknownSnapshot(SnapshotError, LookupError):
    pass


@dataclass
class SnapshotInfo:
    name: str
    virtual_ms: int  # the virtual clock when it was taken
    wall_time: float  # time.time() when it was taken
    size_bytes: int


class Snapshots:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._memory: dict[str, tuple[sqlite3.Connection, SnapshotInfo]] = {}
        path = store.database_path
        self.directory: Path | None = Path(path + ".snapshots") if path else None

    @staticmethod
    def check_name(name: str) -> None:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise SnapshotError(
                f"invalid snapshot name {name!r}: 1-64 of A-Z a-z 0-9 . _ - (not starting with '.')"
            )

    def _file(self, name: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{name}.sqlite"

    # -- operations ------------------------------------------------------------------------
    def save(self, name: str, virtual_ms: int) -> SnapshotInfo:
        self.check_name(name)
        with self._lock, self.store.exclusive_dbapi() as live:
            if self.directory is None:
                target = sqlite3.connect(":memory:", check_same_thread=False)
                live.backup(target)
                size = _size(target)
                info = SnapshotInfo(name, virtual_ms, time.time(), size)
                old = self._memory.pop(name, None)
                if old is not None:
                    old[0].close()
                self._memory[name] = (target, info)
                return info
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.directory / f".{name}.partial"
            target = sqlite3.connect(partial)
            try:
                live.backup(target)
            finally:
                target.close()
            partial.replace(self._file(name))
            info = SnapshotInfo(name, virtual_ms, time.time(), self._file(name).stat().st_size)
            self._file(name).with_suffix(".json").write_text(
                json.dumps(info.__dict__), encoding="utf-8"
            )
            return info

    def restore(self, name: str) -> None:
        self.check_name(name)
        with self._lock:
            if self.directory is None:
                if name not in self._memory:
                    raise UnknownSnapshot(f"no snapshot {name!r}")
                self._restore_from(self._memory[name][0])
            else:
                if not self._file(name).exists():
                    raise UnknownSnapshot(f"no snapshot {name!r}")
                source = sqlite3.connect(self._file(name))
                try:
                    self._restore_from(source)
                finally:
                    source.close()
        self.store.invalidate()

    def _restore_from(self, source: sqlite3.Connection) -> None:
        with self.store.exclusive_dbapi() as live:
            kept = {t.name: _rows(live, t.name) for t in CONTROL_TABLES}
            source.backup(live)
            live.execute("BEGIN IMMEDIATE")
            try:
                for table, (columns, rows) in kept.items():
                    if not columns:
                        continue
                    live.execute(f'DELETE FROM "{table}"')
                    if rows:
                        cols = ", ".join(f'"{c}"' for c in columns)
                        marks = ", ".join("?" for _ in columns)
                        live.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)
                live.execute("COMMIT")
            except Exception:
                live.execute("ROLLBACK")
                raise

    def list(self) -> list[SnapshotInfo]:
        with self._lock:
            if self.directory is None:
                return sorted((info for _, info in self._memory.values()), key=lambda i: i.name)
            if not self.directory.exists():
                return []
            result = []
            for path in sorted(self.directory.glob("*.sqlite")):
                sidecar = path.with_suffix(".json")
                try:
                    result.append(SnapshotInfo(**json.loads(sidecar.read_text(encoding="utf-8"))))
                except (OSError, ValueError, TypeError):
                    result.append(
                        SnapshotInfo(path.stem, 0, path.stat().st_mtime, path.stat().st_size)
                    )
            return result

    def delete(self, name: str) -> None:
        self.check_name(name)
        with self._lock:
            if self.directory is None:
                entry = self._memory.pop(name, None)
                if entry is None:
                    raise UnknownSnapshot(f"no snapshot {name!r}")
                entry[0].close()
                return
            path = self._file(name)
            if not path.exists():
                raise UnknownSnapshot(f"no snapshot {name!r}")
            path.unlink()
            path.with_suffix(".json").unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            for conn, _ in self._memory.values():
                conn.close()
            self._memory.clear()


def _rows(conn: Any, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    try:
        cur = conn.execute(f'SELECT * FROM "{table}"')
    except sqlite3.OperationalError:  # a state file older than the control plane
        return [], []
    columns = [d[0] for d in cur.description]
    return columns, cur.fetchall()


def _size(conn: sqlite3.Connection) -> int:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int(pages) * int(size)
