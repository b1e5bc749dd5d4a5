"""Run a simulator inside a test: a real server on a free loopback port.

    from mock_server.testing import running_simulator

    with running_simulator() as mock:
        client = mock.soap_client("CatalogService")        # zeep, logged in as DEMO_PARTNER1
        client.service.getPOSConfig()
        mock.sim.clock.advance(60)                          # the virtual clock

The pytest plugin (``contract_tests``) builds its fixtures on this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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

    @property
    def sim(self) -> Simulator:
        return self.app.sim

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
) -> Iterator[RunningSimulator]:
    app = create_app(config, dataset=dataset)
    server = ServerThread(app, host=host, port=port, threads=threads)
    server.start()
    try:
        yield RunningSimulator(app=app, server=server)
    finally:
        server.stop()
        app.sim.close()
