from datetime import UTC, datetime

import pytest

from mock_server.core.clock import Clock, format_instant, from_ms, parse_instant, to_ms


class FakeWall:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_offset_clock_runs_at_real_speed_from_its_start():
    wall = FakeWall(1_000_000.0)
    start = datetime(2026, 9, 1, 8, tzinfo=UTC)
    clock = Clock(start=start, wall=wall)
    assert clock.now() == start
    wall.t += 90
    assert clock.now() == datetime(2026, 9, 1, 8, 1, 30, tzinfo=UTC)


def test_advance_set_freeze_unfreeze():
    wall = FakeWall(1_000_000.0)
    clock = Clock(start=datetime(2026, 9, 1, tzinfo=UTC), wall=wall)
    clock.advance(60)
    assert clock.now() == datetime(2026, 9, 1, 0, 1, tzinfo=UTC)
    clock.freeze()
    wall.t += 3600
    assert clock.now() == datetime(2026, 9, 1, 0, 1, tzinfo=UTC)
    clock.advance(59)
    assert clock.now() == datetime(2026, 9, 1, 0, 1, 59, tzinfo=UTC)
    clock.unfreeze()
    wall.t += 1
    assert clock.now() == datetime(2026, 9, 1, 0, 2, tzinfo=UTC)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_listeners_see_every_change_and_state_restores():
    clock = Clock(start=datetime(2026, 9, 1, tzinfo=UTC), frozen=True)
    seen = []
    clock.on_change(seen.append)
    clock.advance(10)
    other = Clock()
    other.restore(seen[-1])
    assert other.now() == clock.now()


def test_instants_round_trip():
    moment = parse_instant("2026-10-02T19:30:00+02:00")
    assert moment == datetime(2026, 10, 2, 17, 30, tzinfo=UTC)
    assert from_ms(to_ms(moment)) == moment
    assert format_instant(moment) == "2026-10-02T17:30:00.000Z"
    with pytest.raises(ValueError):
        parse_instant("2026-10-02T19:30:00")
    with pytest.raises(ValueError):
        to_ms(datetime(2026, 1, 1))
