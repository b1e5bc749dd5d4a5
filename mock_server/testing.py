"""Run a simulator inside a test: a real server on a free loopback port.

    from mock_server.testing import running_simulator

    with running_simulator() as mock:
        client = mock.soap_client("CatalogService")        # zeep, logged in as DEMO_PARTNER1
        client.service.getPOSConfig()
        mock.sim.clock.advance(60)                          # the virtual clock
        mock.admin.add_fault({"type": "drop"}, times=1)     # the control plane (AdminClient)
        mock.reset()                                        # back to the dataset

Without a ``config``, the platform's rate limits are off (tests call freely);
pass ``rate_limits="s360"`` (or a config) to test against them. For pytest, one
simulator for the whole session, reset before each test::

    # conftest.py
    from mock_server.testing import simulator_fixture

    s360 = simulator_fixture()                   # a fixture named "s360"
    limited = simulator_fixture(rate_limits="s360")

    def test_something(s360):
        s360.admin.advance_clock(60)

The pytest plugin (``contract_tests``) builds its fixtures on this.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mock_server.admin_client import AdminClient
from mock_server.app import S360MockApp, create_app
from mock_server.server import ServerThread
from mock_server.simulator import Simulator, SimulatorConfig
from mock_server.soap import namespaces as ns

DEFAULT_LOGIN = ("DEMO_PARTNER1", "partner1-secret")
SERVICES = {info.name: info for info in ns.ALL_SERVICES}


@dataclass
class RunningSimulator:
    app: S360MockApp
    server: ServerThread
    _admin: AdminClient | None = field(default=None, init=False, repr=False)

    @property
    def sim(self) -> Simulator:
        return self.app.sim

    @property
    def admin(self) -> AdminClient:
        """The control plane over HTTP (``/_mock/...``), with the admin token if any."""
        if self._admin is None:
            self._admin = AdminClient(self.base_url, token=self.sim.config.admin_token)
        return self._admin

    def reset(self) -> None:
        """Back to the dataset, the start-up clock and rate limits; no fault rules,
        empty journal, no rate-limit counters (snapshots are kept)."""
        self.sim.reset()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def url(self, service: str) -> str:
        return self.base_url + SERVICES[service].path

    def wsdl_url(self, service: str) -> str:
        return self.url(service) + "?wsdl"

    def soap_client(self, service: str, login: tuple[str, str] = DEFAULT_LOGIN) -> Any:
        """A zeep client for ``service`` (its WSDL as served), with a UsernameToken."""
        import zeep
        from zeep.wsse.username import UsernameToken

        settings = zeep.Settings(strict=True, xml_huge_tree=True)
        return zeep.Client(self.wsdl_url(service), wsse=UsernameToken(*login), settings=settings)


@contextmanager
def running_simulator(
    config: SimulatorConfig | None = None,
    dataset: dict[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = 16,
    rate_limits: str | None = None,
    admin_token: str | None = None,
) -> Iterator[RunningSimulator]:
    """``rate_limits``: "s360" | "off" | a policy file; default: the config's, or
    "off" when no config is given. ``admin_token``: require it on ``/_mock``."""
    config = config or SimulatorConfig(rate_limits="off")
    if rate_limits is not None:
        config = dataclasses.replace(config, rate_limits=rate_limits)
    if admin_token is not None:
        config = dataclasses.replace(config, admin_token=admin_token)
    app = create_app(config, dataset=dataset)
    server = ServerThread(app, host=host, port=port, threads=threads)
    server.start()
    running = RunningSimulator(app=app, server=server)
    try:
        yield running
    finally:
        if running._admin is not None:
            running._admin.close()
        server.stop()
        app.sim.close()


def simulator_fixture(*, reset: bool = True, **options: Any) -> Callable[..., Any]:
    """A pytest fixture: one simulator (``running_simulator(**options)``) started on
    first use and stopped at the end of the session, reset before each test.
    Assign it to a name in a conftest or test module: the name is the fixture's."""
    import pytest

    holder: dict[str, RunningSimulator] = {}

    @pytest.fixture
    def fixture(request: Any) -> RunningSimulator:
        running = holder.get("running")
        if running is None:
            manager = running_simulator(**options)
            running = holder["running"] = manager.__enter__()

            def stop() -> None:
                holder.pop("running", None)
                manager.__exit__(None, None, None)

            request.config.add_cleanup(stop)
        elif reset:
            running.reset()
        return running

    return fixture
