"""create_app(config) -> one WSGI application: the S-360 SOAP services at their real
paths, and the simulator's control plane under ``/_mock/``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mock_server.simulator import Simulator, SimulatorConfig
from mock_server.soap import namespaces as ns
from mock_server.soap.services import (
    AvailabilityService,
    CatalogService,
    ContactInformationPublicService,
    ExternalOrderFacade,
    ExternalOrderService,
)
from mock_server.soap.wire import Responder, SoapEndpoint, SoapGateway

ADMIN_PREFIX = "/_mock"


class S360MockApp:
    """The WSGI entry point. ``sim`` is the simulator behind it (for tests and tools)."""

    def __init__(self, sim: Simulator) -> None:
        from mock_server.admin.api import create_admin_app

        self.sim = sim
        self.soap = SoapGateway(
            sim,
            [
                SoapEndpoint(sim, ns.CATALOG, CatalogService),
                SoapEndpoint(sim, ns.AVAILABILITY, AvailabilityService),
                SoapEndpoint(sim, ns.ORDER_FACADE, ExternalOrderFacade),
                SoapEndpoint(sim, ns.ORDER_SERVICE, ExternalOrderService),
                SoapEndpoint(sim, ns.CONTACT, ContactInformationPublicService),
            ],
        )
        self.admin = create_admin_app(sim, self)

    def __call__(self, environ: dict[str, Any], start_response: Responder) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return self.admin(environ, start_response)  # type: ignore[no-any-return]
        return self.soap(environ, start_response)


def create_app(
    config: SimulatorConfig | None = None, dataset: dict[str, Any] | None = None
) -> S360MockApp:
    return S360MockApp(Simulator(config, dataset_doc=dataset))
