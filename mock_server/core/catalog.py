"""CatalogService: the full catalog as a partner sees it, and when it last changed.

A partner sees the seasons, products and performances S-360 exports (states
RUNNING and SUSPENDED) whose product has a sales period (past, current or future) for the partner's
sales channel; sales periods are listed for that channel only.
Sales never change the catalog: only setup changes do (``getLastSetupUpdate``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, select

from mock_server.core.clock import from_ms
from mock_server.core.errors import UnknownProduct, UnknownSeason
from mock_server.core.model import (
    EXPORTED_STATES,
    AudienceSubCategory,
    Catalog,
    Event,
    FamilyType,
    ObjectState,
    Partner,
    Performance,
    Price,
    PriceLevel,
    Product,
    SalesPeriod,
    Season,
    SeatCategory,
    TariffKind,
    Venue,
)
from mock_server.store import schema as s
from mock_server.store.store import get_meta

_EXPORTED = [str(state) for state in EXPORTED_STATES]


def last_setup_update(conn: Connection) -> datetime:
    """getLastSetupUpdate: when the catalog setup last changed (sales do not count)."""
    return from_ms(int(get_meta(conn, "setup_last_update_ms")))


def catalog_detailed(
    conn: Connection,
    partner: Partner,
    season_code: str | None = None,
    product_code: str | None = None,
) -> Catalog:
    """getCatalogDetailed, optionally restricted to one season and/or one product code."""
    season_q = select(s.season).where(s.season.c.state.in_(_EXPORTED)).order_by(s.season.c.start_ms)
    if season_code:
        if (
            conn.execute(select(s.season.c.id).where(s.season.c.code == season_code)).first()
            is None
        ):
            raise UnknownSeason(f"no season with code {season_code!r}")
        season_q = season_q.where(s.season.c.code == season_code)
    seasons = {
        r.id: Season(
            id=r.id,
            code=r.code,
            state=ObjectState(r.state),
            start=from_ms(r.start_ms),
            end=from_ms(r.end_ms),
            name=r.name,
        )
        for r in conn.execute(season_q)
    }

    # Sales periods open to this partner's channel: they decide product visibility.
    periods: dict[int, list[SalesPeriod]] = defaultdict(list)
    sp, spc = s.sales_period, s.sales_period_channel
    for r in conn.execute(
        select(sp.c.id, sp.c.product_id, sp.c.start_ms, sp.c.end_ms)
        .join(spc, spc.c.sales_period_id == sp.c.id)
        .where(spc.c.sales_channel_id == partner.sales_channel_id)
        .order_by(sp.c.start_ms)
    ):
        periods[r.product_id].append(
            SalesPeriod(
                id=r.id,
                start=from_ms(r.start_ms),
                end=from_ms(r.end_ms),
                sales_channel_ids=(partner.sales_channel_id,),
            )
        )

    product_q = (
        select(s.product)
        .where(s.product.c.state.in_(_EXPORTED), s.product.c.season_id.in_(list(seasons)))
        .order_by(s.product.c.id)
    )
    if product_code:
        found = conn.execute(
            select(s.product.c.id).where(
                s.product.c.code == product_code, s.product.c.state.in_(_EXPORTED)
            )
        ).first()
        if found is None or found.id not in periods:
            raise UnknownProduct(f"no product with code {product_code!r}")
        product_q = product_q.where(s.product.c.code == product_code)
    products: dict[int, Product] = {}
    for r in conn.execute(product_q):
        if r.id not in periods:
            continue
        product = Product(
            id=r.id,
            code=r.code,
            state=ObjectState(r.state),
            family_type=FamilyType(r.family_type),
            name=r.name,
            description=r.description,
            min_quantity=r.min_quantity,
            alert_ratio=r.alert_ratio,
            sales_periods=periods[r.id],
        )
        products[r.id] = product
        seasons[r.season_id].products.append(product)

    _attach_events(conn, products)

    if season_code is None and product_code is None:
        season_list = list(seasons.values())
    else:
        season_list = [season for season in seasons.values() if season.products or not product_code]
    return Catalog(
        seasons=season_list,
        audience_sub_categories=[
            AudienceSubCategory(id=r.id, code=r.code, kind=TariffKind(r.kind), name=r.name)
            for r in conn.execute(
                select(s.audience_sub_category).order_by(s.audience_sub_category.c.id)
            )
        ],
        price_levels=[
            PriceLevel(id=r.id, code=r.code, name=r.name)
            for r in conn.execute(select(s.price_level).order_by(s.price_level.c.id))
        ],
    )


def _attach_events(conn: Connection, products: dict[int, Product]) -> None:
    if not products:
        return
    ids = list(products)
    venues = {
        r.id: Venue(
            id=r.id,
            code=r.code,
            name=r.name,
            town=(r.address or {}).get("town", ""),
            country_code=(r.address or {}).get("countryCode", ""),
        )
        for r in conn.execute(select(s.venue))
    }
    categories: dict[int, list[SeatCategory]] = defaultdict(list)
    for r in conn.execute(
        select(s.seat_category).order_by(s.seat_category.c.rank, s.seat_category.c.id)
    ):
        categories[r.venue_id].append(SeatCategory(id=r.id, code=r.code, name=r.name, rank=r.rank))

    events: dict[int, Event] = {}
    event_venue: dict[int, int] = {}
    for r in conn.execute(select(s.event).where(s.event.c.product_id.in_(ids))):
        ev = Event(id=r.id, code=r.code, name=r.name, venue=venues[r.venue_id])
        events[r.id] = ev
        event_venue[r.id] = r.venue_id
        products[r.product_id].event = ev
    if not events:
        return
    prices: dict[int, list[Price]] = defaultdict(list)
    for r in conn.execute(
        select(s.price)
        .where(s.price.c.event_id.in_(list(events)))
        .order_by(
            s.price.c.seat_category_id,
            s.price.c.audience_sub_category_id,
            s.price.c.price_level_id,
        )
    ):
        prices[r.event_id].append(
            Price(
                seat_category_id=r.seat_category_id,
                audience_sub_category_id=r.audience_sub_category_id,
                price_level_id=r.price_level_id,
                amount=r.amount,
            )
        )
    for r in conn.execute(
        select(s.performance)
        .where(s.performance.c.event_id.in_(list(events)), s.performance.c.state.in_(_EXPORTED))
        .order_by(s.performance.c.start_ms, s.performance.c.id)
    ):
        events[r.event_id].performances.append(
            Performance(
                id=r.id,
                state=ObjectState(r.state),
                start=from_ms(r.start_ms),
                duration_minutes=r.duration_minutes,
                seat_categories=categories[event_venue[r.event_id]],
                prices=prices[r.event_id],
            )
        )
