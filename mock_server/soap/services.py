"""The S-360 services as spyne services. Each operation: one core call in one
transaction, converted to its wire result. Authentication, parsing, rate limits
and the journal happen before and after, in ``mock_server.soap.wire``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spyne import DateTime, Long, ServiceBase, Unicode, rpc

from mock_server.core import availability as av
from mock_server.core import catalog, contacts, orders, partners
from mock_server.core.clock import to_ms
from mock_server.core.errors import InvalidRequest
from mock_server.core.model import Partner
from mock_server.simulator import Simulator
from mock_server.soap import convert
from mock_server.soap import types as t


def _no_checkpoint(_name: str) -> None:
    return None


@dataclass
class CallContext:
    """What every operation gets in ``ctx.udc``."""

    sim: Simulator
    partner: Partner
    # Named points inside an operation where the control plane may inject a fault.
    checkpoint: Callable[[str], None] = _no_checkpoint


def op(returns: Any, *params: Any, **kw: Any) -> Callable[..., Any]:
    """``@rpc`` in the JAX-WS shape: the result element is named after its type."""
    return rpc(*params, _returns=returns, _out_variable_name=returns.get_type_name(), **kw)


def request_id(value: str | None) -> str:
    return value or uuid.uuid4().hex


REQ_LONG = Long(min_occurs=1, nillable=False)
IDS = Long(max_occurs="unbounded", min_occurs=0)


class CatalogService(ServiceBase):
    @op(t.CatalogResultDetailed, Unicode, Unicode, Unicode)
    def getCatalogDetailed(ctx, requestId, seasonCode, productCode):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.read() as conn:
            data = catalog.catalog_detailed(
                conn, u.partner, seasonCode or None, productCode or None
            )
        return convert.success(
            t.CatalogResultDetailed, request_id(requestId), catalogData=convert.catalog(data)
        )

    @op(t.LastSetupUpdateResult, Unicode)
    def getLastSetupUpdate(ctx, requestId):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.read() as conn:
            last = catalog.last_setup_update(conn)
        return convert.success(t.LastSetupUpdateResult, request_id(requestId), lastUpdate=last)

    @op(t.POSConfigResult, Unicode)
    def getPOSConfig(ctx, requestId):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.read() as conn:
            cfg = partners.pos_config(conn, u.partner)
        return convert.success(
            t.POSConfigResult, request_id(requestId), posConfigData=convert.pos_config(cfg)
        )

    @op(t.ServiceAliveResult)
    def isCatalogServiceAlive(ctx):  # noqa: N802, N805
        return convert.success(t.ServiceAliveResult, request_id(None))


def _reader(ctx: Any, conn: Any, pos_id: int) -> av.AvailabilityReader:
    u: CallContext = ctx.udc
    partners.check_point_of_sales(u.partner, pos_id)
    return av.AvailabilityReader(u.sim.store, conn, u.partner, u.sim.clock.now_ms())


class AvailabilityService(ServiceBase):
    @op(t.ProductAvailabilityResult, Unicode, REQ_LONG, IDS)
    def getProductAvailability(ctx, requestId, pointOfSalesId, productIds):  # noqa: N802, N805
        with ctx.udc.sim.store.read() as conn:
            items = av.product_availability(_reader(ctx, conn, pointOfSalesId), productIds or [])
        return convert.success(
            t.ProductAvailabilityResult,
            request_id(requestId),
            productAvailabilities=[convert.product_availability(p) for p in items],
        )

    @op(t.EventAvailabilityResult, Unicode, REQ_LONG, IDS, IDS, IDS, IDS, Long, Long)
    def getEventAvailability(  # noqa: N802
        ctx,  # noqa: N805
        requestId,
        pointOfSalesId,
        eventIds,
        performanceIds,
        seatCategoryIds,
        contingentIds,
        composedProductId,
        advantageId,
    ):
        with ctx.udc.sim.store.read() as conn:
            items = av.event_availability(
                _reader(ctx, conn, pointOfSalesId),
                eventIds or [],
                performanceIds or [],
                seatCategoryIds,
            )
        return convert.success(
            t.EventAvailabilityResult,
            request_id(requestId),
            performanceAvailabilities=convert.performance_availabilities(items),
        )

    @op(t.PerformanceAvailabilityResult, Unicode, REQ_LONG, IDS, IDS)
    def getPerformanceAvailability(ctx, requestId, pointOfSalesId, performanceIds, seatCategoryIds):  # noqa: N802, N805
        with ctx.udc.sim.store.read() as conn:
            items = av.performance_availability(
                _reader(ctx, conn, pointOfSalesId), performanceIds or [], seatCategoryIds
            )
        return convert.success(
            t.PerformanceAvailabilityResult,
            request_id(requestId),
            performanceAvailabilities=convert.performance_availabilities(items),
        )

    @op(t.SeatsAvailabilityResult, Unicode, REQ_LONG, REQ_LONG, IDS)
    def getSeatsAvailability(ctx, requestId, pointOfSalesId, performanceId, seatCategoryIds):  # noqa: N802, N805
        with ctx.udc.sim.store.read() as conn:
            summary, seats = av.seats_availability(
                _reader(ctx, conn, pointOfSalesId), performanceId, seatCategoryIds
            )
        return convert.success(
            t.SeatsAvailabilityResult,
            request_id(requestId),
            performanceAvailability=convert.performance_availability(summary),
            seats=[convert.seat(s) for s in seats],
        )

    @op(
        t.UpdatedAvailabilitiesResult,
        Unicode,
        REQ_LONG,
        IDS,
        DateTime(min_occurs=1, nillable=False),
    )
    def getUpdatedAvailabilities(ctx, requestId, pointOfSalesId, productIds, referenceDate):  # noqa: N802, N805
        if referenceDate.tzinfo is None:
            raise InvalidRequest("referenceDate must carry a time zone (e.g. 2026-09-01T08:00:00Z)")
        with ctx.udc.sim.store.read() as conn:
            items = av.updated_availabilities(
                _reader(ctx, conn, pointOfSalesId), productIds or [], to_ms(referenceDate)
            )
        return convert.success(
            t.UpdatedAvailabilitiesResult,
            request_id(requestId),
            availabilityUpdateData=[
                t.AvailabilityUpdateData(productId=i.product_id, lastUpdate=i.last_update)
                for i in items
            ],
            referenceDate=referenceDate,
        )


# --- sales ---------------------------------------------------------------------------------------
def _contact_number(reference: str | None) -> int | None:
    if reference is None or not str(reference).strip():
        return None
    text = str(reference).strip()
    if not text.isdigit():
        raise InvalidRequest(f"contactReference {reference!r}: a contact number is expected")
    return int(text)


def _attributions(operations: Any) -> list[orders.Attribution]:
    result = []
    for operation in operations or []:
        areas = [a for a in (operation.preferedAreas or []) if a is not None]
        for a in operation.operationAttributions or []:
            if a.performanceId is None or a.audienceSubCategoryId is None:
                raise InvalidRequest(
                    "operationAttributions need performanceId and audienceSubCategoryId"
                )
            result.append(
                orders.Attribution(
                    performance_id=a.performanceId,
                    audience_sub_category_id=a.audienceSubCategoryId,
                    quantity=a.quantity,
                    seat_category_id=a.seatCategoryId,
                    physical_seat_id=a.physicalSeatId,
                    price_level_id=a.priceLevelId,
                    preferred_area_ids=areas,
                )
            )
    return result


class ExternalOrderFacade(ServiceBase):
    @op(
        t.OrderUpdateResult,
        Unicode,
        REQ_LONG,
        Long,
        Unicode,
        t.PurchaserInfo.customize(max_occurs="unbounded"),
        Unicode,
        t.SingleEntryAttributionOperation.customize(max_occurs="unbounded"),
        t.SimpleProductOperation.customize(max_occurs="unbounded"),
        IDS,
    )
    def createOrUpdateOrder(  # noqa: N802
        ctx,  # noqa: N805
        requestId,
        pointOfSalesId,
        orderId,
        orderType,
        purchasersInfo,
        externalReference,
        singleEntryAttributionOperations,
        simpleProductOperations,
        operationIdsToRemove,
    ):
        u: CallContext = ctx.udc
        partners.check_point_of_sales(u.partner, pointOfSalesId)
        if simpleProductOperations:
            raise InvalidRequest("simpleProductOperations: simple products are not simulated")
        purchasers = [p for p in (purchasersInfo or []) if p is not None]
        if len(purchasers) > 1:
            raise InvalidRequest("purchasersInfo: one purchaser per order")
        req = orders.OrderRequest(
            order_id=orderId,
            order_type=orderType,
            purchaser_contact_number=_contact_number(purchasers[0].contactReference)
            if purchasers
            else None,
            external_reference=externalReference,
            attributions=_attributions(singleEntryAttributionOperations),
            remove_operation_ids=list(operationIdsToRemove or []),
        )
        store = u.sim.store
        with store.transaction() as conn:
            pos = partners.point_of_sales(conn, u.partner.point_of_sales_id)
            view = orders.create_or_update_order(
                store, conn, u.partner, pos, req, u.sim.clock.now_ms()
            )
        return convert.success(
            t.OrderUpdateResult, request_id(requestId), orderUpdateData=convert.order_update(view)
        )


class ExternalOrderService(ServiceBase):
    @op(
        t.CloseOrderResult,
        Unicode,
        REQ_LONG,
        t.PurchaserInfoData,
        t.XsdBoolean,
        t.PaymentInput.customize(max_occurs="unbounded"),
        Long,
    )
    def closeOrder(ctx, requestId, orderId, purchaserInfo, generateBarCodes, payments, totalAmount):  # noqa: N802, N805
        u: CallContext = ctx.udc
        plan = []
        for p in payments or []:
            if p.paymentMethodId is None or p.amount is None:
                raise InvalidRequest("payments need paymentMethodId and amount")
            plan.append(orders.PaymentRequest(p.paymentMethodId, p.amount))
        with u.sim.store.read() as conn:
            pos = partners.point_of_sales(conn, u.partner.point_of_sales_id)
        view = orders.close_order(
            u.sim.store,
            u.partner,
            pos,
            orderId,
            plan,
            totalAmount,
            generateBarCodes is not False,
            _contact_number(purchaserInfo.contactReference) if purchaserInfo is not None else None,
            u.sim.clock.now_ms,
            u.checkpoint,
        )
        return convert.success(
            t.CloseOrderResult, request_id(requestId), orderData=convert.order_data(view)
        )

    @op(t.OrderDetailResult, Unicode, REQ_LONG)
    def getOrderDetails(ctx, requestId, orderId):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.transaction() as conn:
            view = orders.get_order(conn, u.partner, orderId, u.sim.clock.now_ms())
        return convert.success(
            t.OrderDetailResult, request_id(requestId), orderData=convert.order_data(view)
        )

    @op(t.OrderDetailResult, Unicode, REQ_LONG, IDS, IDS)
    def cancelOperations(ctx, requestId, orderId, operationIds, movementIds):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.transaction() as conn:
            view = orders.cancel_operations(
                conn,
                u.partner,
                orderId,
                list(operationIds or []),
                list(movementIds or []),
                u.sim.clock.now_ms(),
            )
        return convert.success(
            t.OrderDetailResult, request_id(requestId), orderData=convert.order_data(view)
        )

    @op(t.OrderDetailResult, Unicode, REQ_LONG, IDS)
    def abandonMovements(ctx, requestId, orderId, movementIds):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.transaction() as conn:
            view = orders.abandon_movements(
                conn, u.partner, orderId, list(movementIds or []), u.sim.clock.now_ms()
            )
        return convert.success(
            t.OrderDetailResult, request_id(requestId), orderData=convert.order_data(view)
        )


# --- contacts ------------------------------------------------------------------------------------
def _address_in(a: Any) -> contacts.Address:
    return contacts.Address(
        id=a.contactAddressId,
        main=bool(a.main),
        billing=bool(a.billingAddress),
        shipping=bool(a.shippingAddress),
        street1=a.street1,
        street2=a.street2,
        street3=a.street3,
        street4=a.street4,
        zip_code=a.zipCode,
        town=a.town,
        country_code=a.countryCode,
    )


def _criteria_in(items: Any) -> list[tuple[str, str]]:
    pairs = []
    for c in items or []:
        if c is None or not c.code:
            raise InvalidRequest("contactCriteria need a code")
        pairs.append((c.code, c.value if c.value is not None else ""))
    return pairs


def _contact_in(d: Any) -> contacts.ContactInput:
    return contacts.ContactInput(
        first_name=d.firstName,
        last_name=d.lastName,
        email=d.email,
        phone=d.phoneNumber,
        language=d.language,
        birth_date=d.birthDate,
        addresses=[_address_in(a) for a in (d.addresses or []) if a is not None],
        criteria=_criteria_in(d.contactCriteria),
    )


REQ_STRING = Unicode(min_occurs=1, nillable=False)


class ContactInformationPublicService(ServiceBase):
    @op(t.CreatedContactsResult, Unicode, t.ContactInputData.customize(max_occurs="unbounded"))
    def createCulturalContact(ctx, requestId, contactDataList):  # noqa: N802, N805
        u: CallContext = ctx.udc
        inputs = [_contact_in(d) for d in (contactDataList or []) if d is not None]
        with u.sim.store.transaction() as conn:
            created = contacts.create_contacts(conn, inputs, u.sim.clock.now_ms())
        return convert.success(
            t.CreatedContactsResult,
            request_id(requestId),
            contacts=[convert.contact_summary(c) for c in created],
        )

    @op(t.ContactDataResult, Unicode, REQ_LONG, Unicode(max_occurs="unbounded"))
    def getContactData(ctx, requestId, contactNumber, details):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.read() as conn:
            contact = contacts.get_contact(conn, contactNumber, [d for d in (details or []) if d])
        return convert.success(
            t.ContactDataResult, request_id(requestId), **convert.contact_fields(contact)
        )

    @op(
        t.ContactDataResult,
        Unicode,
        REQ_LONG,
        t.ContactInputData.customize(min_occurs=1, nillable=False),
    )
    def updateContact(ctx, requestId, contactNumber, contactData):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.transaction() as conn:
            contact = contacts.update_contact(
                conn, contactNumber, _contact_in(contactData), u.sim.clock.now_ms()
            )
        return convert.success(
            t.ContactDataResult, request_id(requestId), **convert.contact_fields(contact)
        )

    @op(t.ContactStatusResult, Unicode, REQ_LONG)
    def deleteContact(ctx, requestId, contactNumber):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.transaction() as conn:
            contacts.delete_contact(conn, contactNumber, u.sim.clock.now_ms())
        return convert.success(
            t.ContactStatusResult, request_id(requestId), contactNumber=contactNumber
        )

    @op(
        t.ContactAddressResult,
        Unicode,
        REQ_LONG,
        t.AddressData.customize(min_occurs=1, nillable=False),
    )
    def createOrUpdateAddress(ctx, requestId, contactNumber, address):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.transaction() as conn:
            saved = contacts.create_or_update_address(
                conn, contactNumber, _address_in(address), u.sim.clock.now_ms()
            )
        return convert.success(
            t.ContactAddressResult,
            request_id(requestId),
            contactNumber=contactNumber,
            address=convert.address(saved),
        )

    @op(t.ContactStatusResult, Unicode, REQ_LONG, REQ_LONG)
    def deleteAddress(ctx, requestId, contactNumber, contactAddressId):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.transaction() as conn:
            contacts.delete_address(conn, contactNumber, contactAddressId)
        return convert.success(
            t.ContactStatusResult, request_id(requestId), contactNumber=contactNumber
        )

    @op(t.ContactDataResult, Unicode, REQ_LONG, t.CriterionData.customize(max_occurs="unbounded"))
    def setContactCriteria(ctx, requestId, contactNumber, contactCriteria):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.transaction() as conn:
            contact = contacts.set_criteria(
                conn, contactNumber, _criteria_in(contactCriteria), u.sim.clock.now_ms()
            )
        return convert.success(
            t.ContactDataResult, request_id(requestId), **convert.contact_fields(contact)
        )

    @op(t.SearchContactsResult, Unicode, Unicode, Unicode, Unicode)
    def searchContacts(ctx, requestId, email, lastName, firstName):  # noqa: N802, N805
        u: CallContext = ctx.udc
        with u.sim.store.read() as conn:
            found = contacts.search_contacts(conn, email, lastName, firstName)
        return convert.success(
            t.SearchContactsResult,
            request_id(requestId),
            contacts=[convert.contact_summary(c) for c in found],
        )
