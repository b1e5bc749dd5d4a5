"""The virtual clock: the only source of "now" in the simulator.

The clock runs at real speed from a chosen starting instant (an *offset* clock),
or stands still (*frozen*). Tests move it with :meth:`Clock.advance` or
:meth:`Clock.set` instead of sleeping. Times are timezone-aware UTC datetimes;
the store keeps them as integer milliseconds since the epoch (see :func:`to_ms`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the simulator only uses timezone-aware times")
    return int(round(moment.timestamp() * 1000))


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant with a zone (``Z`` or ``±hh:mm``) into aware UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return value.astimezone(UTC)


def format_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ClockState:
    """What is needed to rebuild a clock: persisted in the store."""

    offset_ms: int  # virtual now = wall now + offset (when running)
    frozen_at_ms: int | None  # virtual now while frozen


class Clock:
    """Thread-safe virtual clock.

    ``Clock()`` follows the wall clock. ``Clock(start=t)`` starts at ``t`` and runs
    at real speed. ``freeze()`` stops it; ``advance()`` and ``set()`` move it in
    either mode.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        frozen: bool = False,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._offset_ms = 0 if start is None else to_ms(start) - self._wall_ms()
        self._frozen_at_ms: int | None = None
        self._listeners: list[Callable[[ClockState], None]] = []
        if frozen:
            self.freeze()

    def _wall_ms(self) -> int:
        return int(self._wall() * 1000)

    # -- reading -------------------------------------------------------------
    def now_ms(self) -> int:
        frozen = self._frozen_at_ms
        if frozen is not None:
            return frozen
        return self._wall_ms() + self._offset_ms

    def now(self) -> datetime:
        return from_ms(self.now_ms())

    @property
    def frozen(self) -> bool:
        return self._frozen_at_ms is not None

    @property
    def state(self) -> ClockState:
        return ClockState(self._offset_ms, self._frozen_at_ms)

    # -- moving --------------------------------------------------------------
    def set(self, moment: datetime) -> None:
        target = to_ms(moment)
        with self._lock:
            if self._frozen_at_ms is not None:
                self._frozen_at_ms = target
            else:
                self._offset_ms = target - self._wall_ms()
        self._changed()

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward with advance(); use set() to go back")
        delta = int(round(seconds * 1000))
        with self._lock:
            if self._frozen_at_ms is not None:
                self._frozen_at_ms += delta
            else:
                self._offset_ms += delta
        self._changed()
        return self.now()

    def freeze(self) -> None:
        with self._lock:
            if self._frozen_at_ms is None:
                self._frozen_at_ms = self._wall_ms() + self._offset_ms
        self._changed()

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen_at_ms is not None:
                self._offset_ms = self._frozen_at_ms - self._wall_ms()
                self._frozen_at_ms = None
        self._changed()

    def restore(self, state: ClockState) -> None:
        with self._lock:
            self._offset_ms = state.offset_ms
            self._frozen_at_ms = state.frozen_at_ms

    # -- persistence hook ----------------------------------------------------
    def on_change(self, listener: Callable[[ClockState], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        state = self.state
        for listener in self._listeners:
            listener(state)

    def __repr__(self) -> str:
        mode = "frozen" if self.frozen else "running"
        return f"Clock({format_instant(self.now())}, {mode})"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
