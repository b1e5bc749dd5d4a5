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
from mock_server.core import catalog, partners
from mock_server.core.clock import to_ms
from mock_server.core.errors import InvalidRequest
from mock_server.core.model import Partner
from mock_server.simulator import Simulator
from mock_server.soap import convert
from mock_server.soap import types as t


@dataclass
class CallContext:
    """What every operation gets in ``ctx.udc``."""

    sim: Simulator
    partner: Partner


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
            data = catalog.catalog_detailed(conn, u.partner, seasonCode or None, productCode or None)
        return convert.success(t.CatalogResultDetailed, request_id(requestId), catalogData=convert.catalog(data))

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
        return convert.success(t.POSConfigResult, request_id(requestId), posConfigData=convert.pos_config(cfg))

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
                _reader(ctx, conn, pointOfSalesId), eventIds or [], performanceIds or [], seatCategoryIds
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

    @op(t.UpdatedAvailabilitiesResult, Unicode, REQ_LONG, IDS, DateTime(min_occurs=1, nillable=False))
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
                t.AvailabilityUpdateData(productId=i.product_id, lastUpdate=i.last_update) for i in items
            ],
            referenceDate=referenceDate,
        )
