"""The virtual clock through the control plane: set, advance, freeze, unfreeze."""

from __future__ import annotations

import pytest

from mock_server.admin_client import AdminError
from mock_server.testing import simulator_fixture

mock = simulator_fixture()


def test_starts_at_the_datasets_clock_and_runs(mock):
    clock = mock.admin.clock()
    assert clock["now"].startswith("2026-09-01T08:00:0") and clock["frozen"] is False


def test_freeze_set_advance_unfreeze(mock):
    frozen = mock.admin.freeze_clock("2026-09-10T12:00:00+02:00")
    assert frozen == {
        "now": "2026-09-10T10:00:00.000Z",
        "nowMs": 1789034400000,
        "frozen": True,
        "offsetMs": None,
    }
    assert mock.admin.clock()["now"] == "2026-09-10T10:00:00.000Z"  # it stands still
    assert mock.admin.advance_clock(90.5)["now"] == "2026-09-10T10:01:30.500Z"
    assert (
        mock.admin.set_clock("2026-09-02T00:00:00Z")["now"] == "2026-09-02T00:00:00.000Z"
    )  # back is fine
    running = mock.admin.unfreeze_clock()
    assert running["frozen"] is False and running["now"].startswith("2026-09-02T00:00:00")
    assert mock.sim.clock.now_ms() >= running["nowMs"]


def test_the_clock_drives_the_simulator(mock):
    """Sales periods: the performance's sales period is over once the clock passes it."""
    av = mock.soap_client("AvailabilityService")

    def level():
        res = av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10003])
        return res.performanceAvailabilities[0].availabilityLevel

    assert level() != "NOT_ON_SALE"
    mock.admin.set_clock("2027-01-01T00:00:00Z")
    assert level() == "NOT_ON_SALE"


def test_python_and_http_see_the_same_clock(mock):
    mock.sim.clock.freeze()
    mock.sim.clock.advance(3600)
    assert mock.admin.clock()["nowMs"] == mock.sim.clock.now_ms()
    mock.admin.advance_clock(60)
    assert mock.admin.clock()["nowMs"] == mock.sim.clock.now_ms()


def test_reset_brings_the_clock_back(mock):
    mock.admin.set_clock("2030-01-01T00:00:00Z")
    mock.admin.reset()
    assert mock.admin.clock()["now"].startswith("2026-09-01T08:00:0")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/clock/set", {"time": "2026-09-01T08:00:00"}),  # no zone
        ("/clock/set", {"time": "1969-12-31T23:59:59Z"}),
        ("/clock/set", {}),
        ("/clock/advance", {"seconds": -1}),
        ("/clock/advance", {"seconds": "60"}),
        ("/clock/freeze", {"time": "soon"}),
        ("/clock/unfreeze", {"unexpected": 1}),
    ],
)
def test_invalid_moves_are_refused(mock, path, body):
    with pytest.raises(AdminError) as info:
        mock.admin.request("POST", path, body)
    assert info.value.status == 400 and info.value.payload["error"]


def test_the_clock_stays_in_range(mock):
    mock.admin.freeze_clock("9999-12-31T23:00:00Z")
    with pytest.raises(AdminError) as info:
        mock.admin.advance_clock(7200)
    assert info.value.status == 400
    assert mock.admin.clock()["now"] == "9999-12-31T23:00:00.000Z"
