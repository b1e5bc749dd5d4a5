"""A cache of serialized replies of read operations (catalog, POS config,
availability), so a repeated question costs a token check instead of SQL, spyne
and XML serialization.

Consistency: an entry is used only while

* the state tokens it depends on are unchanged (the database changes them on
  every write to the tables involved, see ``store/versioning.py``), and
* the virtual clock is inside the interval where the answer cannot change by
  time alone: from when it was computed to the next hold expiry, sales-period
  boundary or performance start (``core.availability.next_change_ms``).

So a cached answer never shows older state than a committed sale. Only
``success`` replies are cached; the ``requestId`` of each reply is the caller's.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from xml.sax.saxutils import escape

# operation -> the state token its answer depends on; time-dependent answers also
# carry a validity interval.
CACHEABLE: dict[tuple[str, str], tuple[str, bool]] = {
    ("CatalogService", "getCatalogDetailed"): ("catalog", False),
    ("CatalogService", "getPOSConfig"): ("catalog", False),
    ("AvailabilityService", "getPerformanceAvailability"): ("availability", True),
    ("AvailabilityService", "getEventAvailability"): ("availability", True),
    ("AvailabilityService", "getProductAvailability"): ("availability", True),
    ("AvailabilityService", "getSeatsAvailability"): ("availability", True),
    ("AvailabilityService", "getUpdatedAvailabilities"): ("availability", True),
}

_REQUEST_ID = re.compile(rb"<requestId>([^<]*)</requestId>")
_SUCCESS = re.compile(rb"<statusCode>success</statusCode>")


@dataclass(frozen=True)
class Entry:
    prefix: bytes  # the reply up to the requestId text
    suffix: bytes  # the reply after it
    token: str
    valid_from_ms: int
    valid_until_ms: int | None  # None: until the token changes

    def render(self, request_id: str | None) -> bytes:
        rid = escape(request_id) if request_id else uuid.uuid4().hex
        return self.prefix + rid.encode() + self.suffix

    @property
    def size(self) -> int:
        return len(self.prefix) + len(self.suffix)


class ReplyCache:
    def __init__(self, max_bytes: int = 128 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, ...], Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, ...], token: str, now_ms: int) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if (
                entry is not None
                and entry.token == token
                and entry.valid_from_ms <= now_ms
                and (entry.valid_until_ms is None or now_ms < entry.valid_until_ms)
            ):
                self._entries.move_to_end(key)
                self.hits += 1
                return entry
            self.misses += 1
            return None

    def put(
        self, key: tuple[str, ...], reply: bytes, token: str, now_ms: int, until_ms: int | None
    ) -> None:
        if not _SUCCESS.search(reply):
            return
        match = _REQUEST_ID.search(reply)
        if match is None:
            return
        entry = Entry(reply[: match.start(1)], reply[match.end(1) :], token, now_ms, until_ms)
        if entry.size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = entry
            self._bytes += entry.size
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "entries": len(self._entries),
                "bytes": self._bytes,
                "hits": self.hits,
                "misses": self.misses,
            }
