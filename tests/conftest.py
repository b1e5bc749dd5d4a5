"""Shared fixtures: a real simulator on a free loopback port, reset per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from mock_server.testing import RunningSimulator, running_simulator

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PARTNER1 = ("DEMO_PARTNER1", "partner1-secret")
PARTNER2 = ("DEMO_PARTNER2", "partner2-secret")
POS1, POS2 = 2001, 2002
PENDING1 = 501  # the pending-account payment method of POS 2001


@pytest.fixture(scope="session")
def mock() -> Iterator[RunningSimulator]:
    """One simulator for the whole session (building zeep clients is the slow part)."""
    with running_simulator() as running:
        yield running


@pytest.fixture
def fresh(mock: RunningSimulator) -> RunningSimulator:
    """The session simulator, back to the default dataset and clock."""
    mock.sim.reset()
    return mock


_clients: dict[tuple[str, str], object] = {}


@pytest.fixture
def client(mock: RunningSimulator):  # type: ignore[no-untyped-def]
    """client("CatalogService", PARTNER1) -> a cached zeep client."""

    def get(service: str, login: tuple[str, str] = PARTNER1):  # type: ignore[no-untyped-def]
        key = (service, login[0])
        if key not in _clients:
            _clients[key] = mock.soap_client(service, login)
        return _clients[key]

    return get
