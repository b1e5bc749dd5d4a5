"""The five S-360 services: paths, target namespaces, versions (s360-reference §2)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceInfo:
    name: str  # CatalogService
    module: str  # tnseb
    package: str  # realtime.catalog
    version: str  # 1_33

    @property
    def tns(self) -> str:
        return f"http://v{self.version}.{self.name}.service.secutix.com"

    @property
    def path(self) -> str:
        return (
            f"/{self.module}/external-remoting/com.secutix.service."
            f"{self.package}.v{self.version}.{self.name}.webservice"
        )


CATALOG = ServiceInfo("CatalogService", "tnseb", "realtime.catalog", "1_33")
AVAILABILITY = ServiceInfo("AvailabilityService", "tnseb", "realtime.availability", "1_33")
ORDER_FACADE = ServiceInfo("ExternalOrderFacade", "tnseb", "realtime.externalorder", "1_33")
ORDER_SERVICE = ServiceInfo("ExternalOrderService", "tnseb", "realtime.externalorder", "1_33")
CONTACT = ServiceInfo("ContactInformationPublicService", "tnco", "contact", "2_21")

ALL_SERVICES = (CATALOG, AVAILABILITY, ORDER_FACADE, ORDER_SERVICE, CONTACT)

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
