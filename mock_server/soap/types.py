"""Wire types (spyne ComplexModels) of the S-360 services, in JAX-WS style.

Conventions that hold for every type here:

* each service's types live in that service's target namespace;
* children are *unqualified* on the wire (the adapter strips namespaces from
  everything below the operation element, and the WSDL says
  ``elementFormDefault="unqualified"``);
* lists are repeated elements without a wrapper (``max_occurs="unbounded"``),
  as JAX-WS writes a ``List<T>`` field;
* field order is fixed (``_type_info`` as a list) so the XSD sequence matches
  what is sent.
"""

from __future__ import annotations

from typing import Any

from spyne import Boolean, ComplexModel, DateTime, Double, Integer, Long, Unicode

from mock_server.soap import namespaces as ns


class XsdBoolean(Boolean):  # type: ignore[misc]
    """xs:boolean read strictly: true, false, 1 or 0. (spyne alone reads any other
    text as false; S-360 refuses it.)"""

    __namespace__ = "http://www.w3.org/2001/XMLSchema"
    __type_name__ = "boolean"

    @staticmethod
    def validate_string(cls: Any, value: str | None) -> bool:
        if value is None:
            return bool(cls.Attributes.nillable)
        return value.strip() in ("true", "false", "1", "0")


MANY = {"max_occurs": "unbounded", "min_occurs": 0}


def many(cls: Any) -> Any:
    return cls.customize(**MANY)


def required(cls: Any) -> Any:
    return cls.customize(min_occurs=1, nillable=False)


STATUS_FIELDS = [
    ("requestId", Unicode),
    ("statusCode", Unicode),
    ("statusDetail", Unicode),
]


def model(namespace: str, name: str, fields: list[tuple[str, Any]]) -> Any:
    """A ComplexModel class ``name`` in ``namespace`` with ordered ``fields``."""
    return type(
        name,
        (ComplexModel,),
        {"__namespace__": namespace, "__type_name__": name, "_type_info": fields},
    )


def result(namespace: str, name: str, fields: list[tuple[str, Any]]) -> Any:
    """An S-360 result: its data fields, then requestId, statusCode, statusDetail."""
    return model(namespace, name, fields + STATUS_FIELDS)


class Translated:
    """Translation / TranslatedText types for one namespace."""

    def __init__(self, namespace: str) -> None:
        self.Translation = model(
            namespace, "Translation", [("locale", Unicode), ("value", Unicode)]
        )
        self.TranslatedText = model(
            namespace, "TranslatedText", [("translations", many(self.Translation))]
        )


# --- CatalogService -------------------------------------------------------------
C = ns.CATALOG.tns
ct = Translated(C)
TranslatedText = ct.TranslatedText

SalesPeriodData = model(
    C,
    "SalesPeriodData",
    [("id", Long), ("start", DateTime), ("end", DateTime), ("salesChannelIds", many(Long))],
)
SeatCategoryData = model(
    C,
    "SeatCategoryData",
    [("id", Long), ("code", Unicode), ("externalName", TranslatedText), ("rank", Integer)],
)
PriceData = model(
    C,
    "PriceData",
    [("seatCatId", Long), ("audSubCatId", Long), ("priceLevelId", Long), ("amount", Long)],
)
PerformanceData = model(
    C,
    "PerformanceData",
    [
        ("id", Long),
        ("state", Unicode),
        ("start", DateTime),
        ("duration", Integer),
        ("seatCategories", many(SeatCategoryData)),
        ("prices", many(PriceData)),
    ],
)
VenueData = model(
    C,
    "VenueData",
    [
        ("id", Long),
        ("code", Unicode),
        ("externalName", TranslatedText),
        ("town", Unicode),
        ("countryCode", Unicode),
    ],
)
EventData = model(
    C,
    "EventData",
    [
        ("id", Long),
        ("code", Unicode),
        ("externalName", TranslatedText),
        ("venue", VenueData),
        ("performances", many(PerformanceData)),
    ],
)
ProductData = model(
    C,
    "ProductData",
    [
        ("id", Long),
        ("code", Unicode),
        ("state", Unicode),
        ("productFamilyType", Unicode),
        ("externalName", TranslatedText),
        ("description", TranslatedText),
        ("minQuantity", Integer),
        ("alertRatio", Double),
        ("salesPeriods", many(SalesPeriodData)),
        ("event", EventData),
    ],
)
SeasonData = model(
    C,
    "SeasonData",
    [
        ("id", Long),
        ("code", Unicode),
        ("state", Unicode),
        ("start", DateTime),
        ("end", DateTime),
        ("externalName", TranslatedText),
        ("products", many(ProductData)),
    ],
)
AudienceSubCategoryData = model(
    C,
    "AudienceSubCategoryData",
    [("id", Long), ("code", Unicode), ("kind", Unicode), ("externalName", TranslatedText)],
)
PriceLevelData = model(
    C, "PriceLevelData", [("id", Long), ("code", Unicode), ("externalName", TranslatedText)]
)
CatalogData = model(
    C,
    "CatalogData",
    [
        ("seasons", many(SeasonData)),
        ("audienceSubCategories", many(AudienceSubCategoryData)),
        ("priceLevels", many(PriceLevelData)),
    ],
)
CatalogResultDetailed = result(C, "CatalogResultDetailed", [("catalogData", CatalogData)])
LastSetupUpdateResult = result(C, "LastSetupUpdateResult", [("lastUpdate", DateTime)])
PaymentMethodData = model(
    C,
    "PaymentMethodData",
    [
        ("id", Long),
        ("code", Unicode),
        ("externalName", TranslatedText),
        ("paymentType", Unicode),
    ],
)
POSConfigData = model(
    C,
    "POSConfigData",
    [
        ("posId", Long),
        ("posCode", Unicode),
        ("posName", TranslatedText),
        ("salesChannelId", Long),
        ("salesChannelCode", Unicode),
        ("institCode", Unicode),
        ("organizationTimeZone", Unicode),
        ("currencyCode", Unicode),
        ("paymentMethods", many(PaymentMethodData)),
        ("maxSeatsPerPerformance", Integer),
        ("orderAbandonDelay", Integer),
    ],
)
POSConfigResult = result(C, "POSConfigResult", [("posConfigData", POSConfigData)])
ServiceAliveResult = result(C, "ServiceAliveResult", [])


# --- AvailabilityService --------------------------------------------------------
A = ns.AVAILABILITY.tns

SeatCategoryAvailabilityData = model(
    A,
    "SeatCategoryAvailabilityData",
    [
        ("seatCategoryId", Long),
        ("seatCategoryCode", Unicode),
        ("capacity", Integer),
        ("available", Integer),
        ("availabilityLevel", Unicode),
        ("colourCode", Unicode),
    ],
)
PerformanceAvailabilityData = model(
    A,
    "PerformanceAvailabilityData",
    [
        ("performanceId", Long),
        ("eventId", Long),
        ("productId", Long),
        ("capacity", Integer),
        ("available", Integer),
        ("availabilityLevel", Unicode),
        ("colourCode", Unicode),
        ("seatCategoryAvailabilities", many(SeatCategoryAvailabilityData)),
    ],
)
ProductAvailabilityData = model(
    A,
    "ProductAvailabilityData",
    [
        ("productId", Long),
        ("productFamilyType", Unicode),
        ("capacity", Integer),
        ("available", Integer),
        ("availabilityLevel", Unicode),
        ("colourCode", Unicode),
        ("performanceAvailabilities", many(PerformanceAvailabilityData)),
    ],
)
SeatData = model(
    A,
    "SeatData",
    [
        ("physicalSeatId", Long),
        ("seatCategoryId", Long),
        ("areaCode", Unicode),
        ("blockCode", Unicode),
        ("rowNumber", Unicode),
        ("seatNumber", Unicode),
        ("state", Unicode),
    ],
)
AvailabilityUpdateData = model(
    A, "AvailabilityUpdateData", [("productId", Long), ("lastUpdate", DateTime)]
)
ProductAvailabilityResult = result(
    A, "ProductAvailabilityResult", [("productAvailabilities", many(ProductAvailabilityData))]
)
EventAvailabilityResult = result(
    A,
    "EventAvailabilityResult",
    [("performanceAvailabilities", many(PerformanceAvailabilityData))],
)
PerformanceAvailabilityResult = result(
    A,
    "PerformanceAvailabilityResult",
    [("performanceAvailabilities", many(PerformanceAvailabilityData))],
)
SeatsAvailabilityResult = result(
    A,
    "SeatsAvailabilityResult",
    [("performanceAvailability", PerformanceAvailabilityData), ("seats", many(SeatData))],
)
UpdatedAvailabilitiesResult = result(
    A,
    "UpdatedAvailabilitiesResult",
    [("availabilityUpdateData", many(AvailabilityUpdateData)), ("referenceDate", DateTime)],
)


# --- ExternalOrderFacade / ExternalOrderService ------------------------------------------
def _order_types(namespace: str) -> dict[str, Any]:
    """The order data types, declared in each order service's namespace."""
    tt = Translated(namespace)
    op = model(
        namespace,
        "OperationData",
        [
            ("operationId", Long),
            ("productId", Long),
            ("performanceId", Long),
            ("seatCategoryId", Long),
            ("audienceSubCategoryId", Long),
            ("priceLevelId", Long),
            ("quantity", Integer),
            ("unitPrice", Long),
            ("totalAmount", Long),
            ("operationState", Unicode),
        ],
    )
    mv = model(
        namespace,
        "MovementData",
        [
            ("movementId", Long),
            ("operationId", Long),
            ("performanceId", Long),
            ("seatId", Long),
            ("seatCategoryId", Long),
            ("areaId", Long),
            ("areaCode", Unicode),
            ("blockCode", Unicode),
            ("rowNumber", Unicode),
            ("seatNumber", Unicode),
            ("unitPrice", Long),
            ("movementState", Unicode),
        ],
    )
    ticket = model(
        namespace,
        "TicketData",
        [
            ("ticketId", Long),
            ("movementId", Long),
            ("operationId", Long),
            ("performanceId", Long),
            ("seatId", Long),
            ("barcode", Unicode),
            ("ticketState", Unicode),
        ],
    )
    payment = model(
        namespace,
        "PaymentData",
        [("paymentMethodId", Long), ("amount", Long), ("paymentDate", DateTime)],
    )
    return {
        "TranslatedText": tt.TranslatedText,
        "op": op,
        "mv": mv,
        "ticket": ticket,
        "payment": payment,
    }


F = ns.ORDER_FACADE.tns
_f = _order_types(F)
FacadeOperationData, FacadeMovementData = _f["op"], _f["mv"]
PurchaserInfo = model(F, "PurchaserInfo", [("contactReference", Unicode)])
OperationAttribution = model(
    F,
    "OperationAttribution",
    [
        ("performanceId", Long),
        ("seatCategoryId", Long),
        ("audienceSubCategoryId", Long),
        ("priceLevelId", Long),
        ("quantity", Integer),
        ("physicalSeatId", Long),
    ],
)
SingleEntryAttributionOperation = model(
    F,
    "SingleEntryAttributionOperation",
    [("operationAttributions", many(OperationAttribution)), ("preferedAreas", many(Long))],
)
SimpleProductOperation = model(
    F, "SimpleProductOperation", [("productId", Long), ("quantity", Integer)]
)
OrderUpdateData = model(
    F,
    "OrderUpdateData",
    [
        ("orderId", Long),
        ("orderSecretId", Unicode),
        ("orderState", Unicode),
        ("externalReference", Unicode),
        ("totalAmount", Long),
        ("expirationDate", DateTime),
        ("operationDataUpdates", many(FacadeOperationData)),
        ("movementDataUpdates", many(FacadeMovementData)),
    ],
)
ORDER_STATUS_FIELDS = [("statusMessage", Unicode), ("expectedException", Unicode)]
OrderUpdateResult = result(
    F, "OrderUpdateResult", [("orderUpdateData", OrderUpdateData)] + ORDER_STATUS_FIELDS
)

S = ns.ORDER_SERVICE.tns
_s = _order_types(S)
ServiceOperationData, ServiceMovementData, TicketData, PaymentData = (
    _s["op"],
    _s["mv"],
    _s["ticket"],
    _s["payment"],
)
PaymentInput = model(S, "PaymentInput", [("paymentMethodId", Long), ("amount", Long)])
PurchaserInfoData = model(S, "PurchaserInfo", [("contactReference", Unicode)])
OrderData = model(
    S,
    "OrderData",
    [
        ("orderId", Long),
        ("orderSecretId", Unicode),
        ("orderState", Unicode),
        ("orderType", Unicode),
        ("externalReference", Unicode),
        ("purchaserContactNumber", Long),
        ("saleAmount", Long),
        ("creationDate", DateTime),
        ("expirationDate", DateTime),
        ("closeDate", DateTime),
        ("operationDatas", many(ServiceOperationData)),
        ("movementDatas", many(ServiceMovementData)),
        ("tickets", many(TicketData)),
        ("payments", many(PaymentData)),
    ],
)
CloseOrderResult = result(S, "CloseOrderResult", [("orderData", OrderData)] + ORDER_STATUS_FIELDS)
OrderDetailResult = result(S, "OrderDetailResult", [("orderData", OrderData)] + ORDER_STATUS_FIELDS)


# --- ContactInformationPublicService ---------------------------------------------------------
K = ns.CONTACT.tns
AddressData = model(
    K,
    "ContactAddressData",
    [
        ("contactAddressId", Long),
        ("main", Boolean),
        ("billingAddress", Boolean),
        ("shippingAddress", Boolean),
        ("street1", Unicode),
        ("street2", Unicode),
        ("street3", Unicode),
        ("street4", Unicode),
        ("zipCode", Unicode),
        ("town", Unicode),
        ("countryCode", Unicode),
    ],
)
CriterionData = model(K, "ContactCriterionData", [("code", Unicode), ("value", Unicode)])
ContactInputData = model(
    K,
    "ContactData",
    [
        ("firstName", Unicode),
        ("lastName", Unicode),
        ("email", Unicode),
        ("phoneNumber", Unicode),
        ("language", Unicode),
        ("birthDate", Unicode),
        ("addresses", many(AddressData)),
        ("contactCriteria", many(CriterionData)),
    ],
)
CONTACT_FIELDS = [
    ("contactNumber", Long),
    ("firstName", Unicode),
    ("lastName", Unicode),
    ("email", Unicode),
    ("phoneNumber", Unicode),
    ("language", Unicode),
    ("birthDate", Unicode),
    ("addresses", many(AddressData)),
    ("contactCriteria", many(CriterionData)),
]
ContactDataResult = result(K, "ContactDataResult", CONTACT_FIELDS)
ContactSummary = model(K, "ContactSummary", CONTACT_FIELDS[:4])
CreatedContactsResult = result(K, "CreateContactResult", [("contacts", many(ContactSummary))])
SearchContactsResult = result(K, "SearchContactsResult", [("contacts", many(ContactSummary))])
ContactAddressResult = result(
    K, "ContactAddressResult", [("contactNumber", Long), ("address", AddressData)]
)
ContactStatusResult = result(K, "ContactStatusResult", [("contactNumber", Long)])
