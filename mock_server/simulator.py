"""The simulator: the store, the virtual clock and the dataset, held together.

One ``Simulator`` serves one WSGI application (``mock_server.app``). It owns the
state lifecycle: load the dataset into a fresh store, or reopen a persistent
store (``sqlite:///file.db``) and carry on where it stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_server.core.clock import Clock, ClockState, parse_instant
from mock_server.core.control import ControlPlane, ControlSettings
from mock_server.store import Store, StoreError
from mock_server.store.loader import load_dataset
from mock_server.store.store import fingerprint, get_meta

log = logging.getLogger("s360mock")


@dataclass
class SimulatorConfig:
    dataset: Path | None = None  # None: the default dataset
    state_url: str = "sqlite://"  # in memory: fresh state at each start
    clock: str = "dataset"  # "dataset": start at the dataset's clockStart; "now": wall clock
    reset_state: bool = False  # reload the dataset even if the state file has state
    # Control plane (docs/control-plane.md).
    rate_limits: str = "s360"  # "s360" | "off" | path to a JSON policy document
    rate_limit_status: int | None = None  # 429 or 509: overrides the policy document's
    journal_max_entries: int = 10_000  # 0: no journal
    admin_token: str | None = None  # None: the admin API answers loopback callers only
    reply_cache: bool = True  # cache serialized read replies (mock_server/soap/cache.py)
    extra: dict[str, Any] = field(default_factory=dict)


class Simulator:
    def __init__(
        self, config: SimulatorConfig | None = None, dataset_doc: dict[str, Any] | None = None
    ) -> None:
        from fixtures.validate import default_dataset_path
        from fixtures.validate import load_dataset as read_dataset

        self.config = config or SimulatorConfig()
        path = self.config.dataset or default_dataset_path()
        # Refused with every problem listed, before anything touches the store.
        self.dataset: dict[str, Any] = (
            dataset_doc if dataset_doc is not None else read_dataset(path)
        )
        self.dataset_path = path
        self.dataset_label = (
            str(path) if dataset_doc is None else f"the dataset {self.dataset.get('name')!r}"
        )
        self.store = Store(self.config.state_url)
        self.clock = Clock()
        self.control = _control_plane(self)
        self._open()
        self.clock.on_change(self._persist_clock)

    # -- lifecycle -------------------------------------------------------------
    def _initial_clock(self) -> Clock:
        start = self.dataset.get("clockStart")
        if self.config.clock == "dataset" and start:
            return Clock(start=parse_instant(start))
        return Clock()

    def _open(self) -> None:
        if not self.config.reset_state and self.store.is_loaded():
            with self.store.read() as conn:
                meta = get_meta(conn, "dataset")
                clock = get_meta(conn, "clock")
            if meta["fingerprint"] != fingerprint(self.dataset):
                raise StoreError(
                    f"the state in {self.store.url} was created from another dataset "
                    f"({meta['name']!r}); start with --reset-state to reload it from "
                    f"{self.dataset_label}"
                )
            if clock:
                self.clock.restore(ClockState(clock["offset_ms"], clock["frozen_at_ms"]))
                self.control.note_clock(self.clock.state)
            self.control.start()
            log.info("reopened state %s (dataset %s)", self.store.url, meta["name"])
            return
        self.reset()

    def reset(self) -> dict[str, int]:
        """Back to the dataset: state, clock."""
        counts = load_dataset(self.store, self.dataset)
        self.clock.restore(self._initial_clock().state)
        self._persist_clock(self.clock.state)
        self.control.after_reset()
        return counts

    def _persist_clock(self, state: ClockState) -> None:
        self.control.persist_clock(state)  # the "clock" meta row, shared by worker processes

    def close(self) -> None:
        self.control.close()
        self.store.dispose()


def _control_plane(sim: Simulator) -> ControlPlane:
    from mock_server.core import ratelimit

    rates = ratelimit.resolve(sim.config.rate_limits).with_status(sim.config.rate_limit_status)
    settings = ControlSettings(
        rate_limits=rates, journal_max_entries=sim.config.journal_max_entries
    )
    return ControlPlane(sim.store, sim.clock, settings)
