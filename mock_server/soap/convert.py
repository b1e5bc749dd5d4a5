"""Core model -> wire types. Wire names (camelCase) exist only in this package."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mock_server.core import model as m
from mock_server.soap import types as t


def text(value: m.Translations, translated: Any = t.ct) -> Any:
    return translated.TranslatedText(
        translations=[translated.Translation(locale=k, value=v) for k, v in value.items()]
    )


def success(result_cls: Any, request_id: str | None, **fields: Any) -> Any:
    return result_cls(requestId=request_id, statusCode="success", statusDetail=None, **fields)


# --- catalog ---------------------------------------------------------------------
def catalog(cat: m.Catalog) -> Any:
    return t.CatalogData(
        seasons=[season(s) for s in cat.seasons],
        audienceSubCategories=[
            t.AudienceSubCategoryData(
                id=a.id, code=a.code, kind=str(a.kind), externalName=text(a.name)
            )
            for a in cat.audience_sub_categories
        ],
        priceLevels=[
            t.PriceLevelData(id=p.id, code=p.code, externalName=text(p.name))
            for p in cat.price_levels
        ],
    )


def season(s: m.Season) -> Any:
    return t.SeasonData(
        id=s.id,
        code=s.code,
        state=str(s.state),
        start=s.start,
        end=s.end,
        externalName=text(s.name),
        products=[product(p) for p in s.products],
    )


def product(p: m.Product) -> Any:
    return t.ProductData(
        id=p.id,
        code=p.code,
        state=str(p.state),
        productFamilyType=str(p.family_type),
        externalName=text(p.name),
        description=text(p.description),
        minQuantity=p.min_quantity,
        alertRatio=p.alert_ratio,
        salesPeriods=[
            t.SalesPeriodData(
                id=sp.id, start=sp.start, end=sp.end, salesChannelIds=list(sp.sales_channel_ids)
            )
            for sp in p.sales_periods
        ],
        event=event(p.event) if p.event else None,
    )


def event(e: m.Event) -> Any:
    return t.EventData(
        id=e.id,
        code=e.code,
        externalName=text(e.name),
        venue=t.VenueData(
            id=e.venue.id,
            code=e.venue.code,
            externalName=text(e.venue.name),
            town=e.venue.town,
            countryCode=e.venue.country_code,
        ),
        performances=[performance(p) for p in e.performances],
    )


def performance(p: m.Performance) -> Any:
    return t.PerformanceData(
        id=p.id,
        state=str(p.state),
        start=p.start,
        duration=p.duration_minutes,
        seatCategories=[
            t.SeatCategoryData(id=c.id, code=c.code, externalName=text(c.name), rank=c.rank)
            for c in p.seat_categories
        ],
        prices=[
            t.PriceData(
                seatCatId=x.seat_category_id,
                audSubCatId=x.audience_sub_category_id,
                priceLevelId=x.price_level_id,
                amount=x.amount,
            )
            for x in p.prices
        ],
    )


def pos_config(cfg: m.POSConfig) -> Any:
    pos = cfg.point_of_sales
    return t.POSConfigData(
        posId=pos.id,
        posCode=pos.code,
        posName=text(pos.name),
        salesChannelId=pos.sales_channel_id,
        salesChannelCode=pos.sales_channel_code,
        institCode=cfg.institution.code,
        organizationTimeZone=cfg.institution.time_zone,
        currencyCode=cfg.institution.currency_code,
        paymentMethods=[
            t.PaymentMethodData(
                id=pm.id, code=pm.code, externalName=text(pm.name), paymentType=pm.payment_type
            )
            for pm in pos.payment_methods
        ],
        maxSeatsPerPerformance=pos.max_seats_per_performance,
        orderAbandonDelay=pos.order_abandon_delay_minutes,
    )


# --- availability -------------------------------------------------------------------
def performance_availability(a: m.PerformanceAvailability) -> Any:
    return t.PerformanceAvailabilityData(
        performanceId=a.performance_id,
        eventId=a.event_id,
        productId=a.product_id,
        capacity=a.capacity,
        available=a.available,
        availabilityLevel=str(a.level),
        colourCode=a.level.colour,
        seatCategoryAvailabilities=[
            t.SeatCategoryAvailabilityData(
                seatCategoryId=c.seat_category_id,
                seatCategoryCode=c.seat_category_code,
                capacity=c.capacity,
                available=c.available,
                availabilityLevel=str(c.level),
                colourCode=c.level.colour,
            )
            for c in a.categories
        ],
    )


def performance_availabilities(items: Iterable[m.PerformanceAvailability]) -> list[Any]:
    return [performance_availability(a) for a in items]


def product_availability(p: m.ProductAvailability) -> Any:
    return t.ProductAvailabilityData(
        productId=p.product_id,
        productFamilyType=str(p.family_type),
        capacity=p.capacity,
        available=p.available,
        availabilityLevel=str(p.level),
        colourCode=p.level.colour,
        performanceAvailabilities=performance_availabilities(p.performances),
    )


def seat(s: m.SeatAvailability) -> Any:
    return t.SeatData(
        physicalSeatId=s.physical_seat_id,
        seatCategoryId=s.seat_category_id,
        areaCode=s.area_code,
        blockCode=s.block_code,
        rowNumber=s.row,
        seatNumber=None if s.number is None else str(s.number),
        state="FREE" if s.free else "TAKEN",
    )


# --- orders -------------------------------------------------------------------------------------
def _operations(view: Any, cls: Any) -> list[Any]:
    return [
        cls(
            operationId=o.id,
            productId=o.product_id,
            performanceId=o.performance_id,
            seatCategoryId=o.seat_category_id,
            audienceSubCategoryId=o.audience_sub_category_id,
            priceLevelId=o.price_level_id,
            quantity=o.quantity,
            unitPrice=o.unit_price,
            totalAmount=o.total_amount,
            operationState=o.state,
        )
        for o in view.operations
    ]


def _movements(view: Any, cls: Any) -> list[Any]:
    return [
        cls(
            movementId=mv.id,
            operationId=mv.operation_id,
            performanceId=mv.performance_id,
            seatId=mv.seat_id,
            seatCategoryId=mv.seat_category_id,
            areaId=mv.area_id,
            areaCode=mv.area_code,
            blockCode=mv.block_code,
            rowNumber=mv.row,
            seatNumber=None if mv.number is None else str(mv.number),
            unitPrice=mv.unit_price,
            movementState=mv.state,
        )
        for mv in view.movements
    ]


def order_update(view: Any) -> Any:
    return t.OrderUpdateData(
        orderId=view.id,
        orderSecretId=view.secret_id,
        orderState=view.state,
        externalReference=view.external_reference,
        totalAmount=view.total_amount,
        expirationDate=view.expires,
        operationDataUpdates=_operations(view, t.FacadeOperationData),
        movementDataUpdates=_movements(view, t.FacadeMovementData),
    )


def order_data(view: Any, with_barcodes: bool = True) -> Any:
    return t.OrderData(
        orderId=view.id,
        orderSecretId=view.secret_id,
        orderState=view.state,
        orderType=view.order_type,
        externalReference=view.external_reference,
        purchaserContactNumber=view.purchaser_contact_number,
        saleAmount=view.total_amount,
        creationDate=view.created,
        expirationDate=view.expires,
        closeDate=view.closed,
        operationDatas=_operations(view, t.ServiceOperationData),
        movementDatas=_movements(view, t.ServiceMovementData),
        tickets=[
            t.TicketData(
                ticketId=tk.id,
                movementId=tk.movement_id,
                operationId=tk.operation_id,
                performanceId=tk.performance_id,
                seatId=tk.seat_id,
                barcode=tk.barcode if with_barcodes else None,
                ticketState=tk.state,
            )
            for tk in view.tickets
        ],
        payments=[
            t.PaymentData(
                paymentMethodId=p.payment_method_id, amount=p.amount, paymentDate=p.created
            )
            for p in view.payments
        ],
    )


# --- contacts -------------------------------------------------------------------------------------
def address(a: Any) -> Any:
    return t.AddressData(
        contactAddressId=a.id,
        main=a.main,
        billingAddress=a.billing,
        shippingAddress=a.shipping,
        street1=a.street1,
        street2=a.street2,
        street3=a.street3,
        street4=a.street4,
        zipCode=a.zip_code,
        town=a.town,
        countryCode=a.country_code,
    )


def contact_fields(c: Any) -> dict[str, Any]:
    return {
        "contactNumber": c.contact_number,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "email": c.email,
        "phoneNumber": c.phone,
        "language": c.language,
        "birthDate": c.birth_date,
        "addresses": None if c.addresses is None else [address(a) for a in c.addresses],
        "contactCriteria": None
        if c.criteria is None
        else [t.CriterionData(code=code, value=value) for code, value in c.criteria],
    }


def contact_summary(c: Any) -> Any:
    return t.ContactSummary(
        contactNumber=c.contact_number, firstName=c.first_name, lastName=c.last_name, email=c.email
    )
