"""AvailabilityService: availability computed from the live seat assignments.

Nothing here reads a counter: every answer counts the live movements (SOLD, or
HELD by an open order whose expiry is still ahead on the virtual clock) at the
moment of the query, so availability cannot drift from the orders.

Levels [assumed, docs/assumptions.md]:

* ``NOT_ON_SALE`` (grey): product or performance not RUNNING, the clock is
  outside every sales period of the partner's channel, or the performance has
  started;
* ``SOLD_OUT`` (red): nothing left;
* ``LIMITED`` (orange): remaining <= alert ratio x capacity;
* ``GOOD`` (green): otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from mock_server.core.clock import from_ms
from mock_server.core.errors import (
    InvalidRequest,
    UnknownEvent,
    UnknownPerformance,
    UnknownProduct,
    UnknownSeatCategory,
)
from mock_server.core.model import (
    AvailabilityLevel,
    AvailabilityUpdate,
    CategoryAvailability,
    FamilyType,
    Partner,
    PerformanceAvailability,
    ProductAvailability,
    SeatAvailability,
)
from mock_server.store import Store
from mock_server.store import schema as s

#: seatCategoryIds = [-1] asks for every category listed one by one.
ALL_CATEGORIES = -1


@dataclass(frozen=True)
class _PerfInfo:
    id: int
    event_id: int
    product_id: int
    venue_id: int
    state: str
    start_ms: int
    product_state: str
    alert_ratio: float


def live_condition(now_ms: int) -> Any:
    """SQL condition: the movement holds its seat at ``now_ms``."""
    m, o = s.movement, s.sale_order
    return or_(
        m.c.state == "SOLD",
        and_(
            m.c.state == "HELD",
            o.c.state == "OPEN",
            or_(o.c.expires_ms.is_(None), o.c.expires_ms > now_ms),
        ),
    )


def level_for(
    available: int, capacity: int, alert_ratio: float, on_sale: bool
) -> AvailabilityLevel:
    if not on_sale:
        return AvailabilityLevel.NOT_ON_SALE
    if available <= 0:
        return AvailabilityLevel.SOLD_OUT
    if available <= alert_ratio * capacity:
        return AvailabilityLevel.LIMITED
    return AvailabilityLevel.GOOD


class AvailabilityReader:
    """One query session: use inside one read transaction."""

    def __init__(self, store: Store, conn: Connection, partner: Partner, now_ms: int) -> None:
        self.store = store
        self.conn = conn
        self.partner = partner
        self.now_ms = now_ms

    # -- static data (cached until the dataset is reloaded) ------------------
    def venue_capacity(self, venue_id: int) -> dict[int, int]:
        def compute() -> dict[int, int]:
            rows = self.conn.execute(
                select(s.seat.c.seat_category_id, func.count())
                .where(s.seat.c.venue_id == venue_id)
                .group_by(s.seat.c.seat_category_id)
            )
            return {cat: n for cat, n in rows}

        result: dict[int, int] = self.store.cached(("capacity", venue_id), compute)
        return result

    def category_codes(self) -> dict[int, str]:
        def compute() -> dict[int, str]:
            return dict(
                self.conn.execute(select(s.seat_category.c.id, s.seat_category.c.code)).all()
            )

        result: dict[int, str] = self.store.cached("category_codes", compute)
        return result

    # -- lookups -------------------------------------------------------------
    def _perf_query(self) -> Any:
        return (
            select(
                s.performance.c.id,
                s.performance.c.event_id,
                s.event.c.product_id,
                s.event.c.venue_id,
                s.performance.c.state,
                s.performance.c.start_ms,
                s.product.c.state.label("product_state"),
                s.product.c.alert_ratio,
            )
            .join(s.event, s.event.c.id == s.performance.c.event_id)
            .join(s.product, s.product.c.id == s.event.c.product_id)
            .order_by(s.performance.c.start_ms, s.performance.c.id)
        )

    def performances(self, performance_ids: Sequence[int]) -> list[_PerfInfo]:
        ids = _ids(performance_ids, "performanceIds")
        found = [
            _PerfInfo(*r)
            for r in self.conn.execute(self._perf_query().where(s.performance.c.id.in_(ids)))
        ]
        missing = sorted(set(ids) - {p.id for p in found})
        if missing:
            raise UnknownPerformance(f"unknown performance id(s): {', '.join(map(str, missing))}")
        position = {pid: i for i, pid in enumerate(ids)}
        return sorted(found, key=lambda p: position[p.id])  # in the order asked

    def performances_of_events(self, event_ids: Sequence[int]) -> list[_PerfInfo]:
        ids = _ids(event_ids, "eventIds")
        known = set(self.conn.execute(select(s.event.c.id).where(s.event.c.id.in_(ids))).scalars())
        missing = sorted(set(ids) - known)
        if missing:
            raise UnknownEvent(f"unknown event id(s): {', '.join(map(str, missing))}")
        return [
            _PerfInfo(*r)
            for r in self.conn.execute(self._perf_query().where(s.performance.c.event_id.in_(ids)))
        ]

    def performances_of_products(self, product_ids: Sequence[int]) -> dict[int, list[_PerfInfo]]:
        ids = _ids(product_ids, "productIds")
        rows = self.conn.execute(
            select(s.product.c.id, s.product.c.family_type).where(s.product.c.id.in_(ids))
        )
        families = {r.id: r.family_type for r in rows}
        missing = sorted(set(ids) - set(families))
        if missing:
            raise UnknownProduct(f"unknown product id(s): {', '.join(map(str, missing))}")
        result: dict[int, list[_PerfInfo]] = {pid: [] for pid in ids}
        for r in self.conn.execute(self._perf_query().where(s.event.c.product_id.in_(ids))):
            info = _PerfInfo(*r)
            result[info.product_id].append(info)
        return result

    # -- computing -----------------------------------------------------------
    def on_sale_products(self, product_ids: Iterable[int]) -> set[int]:
        """Products with a sales period for the partner's channel containing now."""
        sp, spc = s.sales_period, s.sales_period_channel
        rows = self.conn.execute(
            select(sp.c.product_id)
            .join(spc, spc.c.sales_period_id == sp.c.id)
            .where(
                sp.c.product_id.in_(list(set(product_ids))),
                spc.c.sales_channel_id == self.partner.sales_channel_id,
                sp.c.start_ms <= self.now_ms,
                sp.c.end_ms > self.now_ms,
            )
        )
        return set(rows.scalars())

    def taken(self, performance_ids: Iterable[int]) -> dict[tuple[int, int], tuple[int, int]]:
        """(performance, category) -> (held, sold) right now."""
        m, o = s.movement, s.sale_order
        rows = self.conn.execute(
            select(m.c.performance_id, m.c.seat_category_id, m.c.state, func.count())
            .join(o, o.c.id == m.c.order_id)
            .where(m.c.performance_id.in_(list(performance_ids)), live_condition(self.now_ms))
            .group_by(m.c.performance_id, m.c.seat_category_id, m.c.state)
        )
        result: dict[tuple[int, int], tuple[int, int]] = {}
        for perf_id, cat_id, state, n in rows:
            held, sold = result.get((perf_id, cat_id), (0, 0))
            result[(perf_id, cat_id)] = (held + n, sold) if state == "HELD" else (held, sold + n)
        return result

    def compute(
        self, perfs: Sequence[_PerfInfo], seat_category_ids: Sequence[int] | None = None
    ) -> list[PerformanceAvailability]:
        """Availability of ``perfs``; categories itemised per the S-360 convention:
        none -> totals only, [-1] -> every category, ids -> those categories."""
        wanted = list(seat_category_ids or [])
        itemise_all = wanted == [ALL_CATEGORIES]
        if ALL_CATEGORIES in wanted and not itemise_all:
            raise InvalidRequest("seatCategoryIds: -1 cannot be combined with other ids")
        if any(i < 1 for i in wanted if i != ALL_CATEGORIES):
            raise InvalidRequest("seatCategoryIds: ids are positive integers")
        on_sale_products = self.on_sale_products(p.product_id for p in perfs)
        taken = self.taken(p.id for p in perfs)
        codes = self.category_codes()
        result = []
        for perf in perfs:
            capacity_by_cat = self.venue_capacity(perf.venue_id)
            if wanted and not itemise_all:
                unknown = [c for c in wanted if c not in capacity_by_cat]
                if unknown:
                    raise UnknownSeatCategory(
                        f"seat category id(s) {', '.join(map(str, unknown))} not in the venue "
                        f"of performance {perf.id}"
                    )
                cats = wanted
            else:
                cats = sorted(capacity_by_cat)
            on_sale = (
                perf.state == "RUNNING"
                and perf.product_state == "RUNNING"
                and perf.product_id in on_sale_products
                and self.now_ms < perf.start_ms
            )
            items = []
            for cat in cats:
                capacity = capacity_by_cat[cat]
                held, sold = taken.get((perf.id, cat), (0, 0))
                available = capacity - held - sold
                items.append(
                    CategoryAvailability(
                        seat_category_id=cat,
                        seat_category_code=codes.get(cat, ""),
                        capacity=capacity,
                        available=available,
                        held=held,
                        sold=sold,
                        level=level_for(available, capacity, perf.alert_ratio, on_sale),
                    )
                )
            capacity = sum(i.capacity for i in items)
            available = sum(i.available for i in items)
            result.append(
                PerformanceAvailability(
                    performance_id=perf.id,
                    event_id=perf.event_id,
                    product_id=perf.product_id,
                    capacity=capacity,
                    available=available,
                    level=level_for(available, capacity, perf.alert_ratio, on_sale),
                    categories=tuple(items) if wanted else (),
                )
            )
        return result


def performance_availability(
    reader: AvailabilityReader,
    performance_ids: Sequence[int],
    seat_category_ids: Sequence[int] | None,
) -> list[PerformanceAvailability]:
    return reader.compute(reader.performances(performance_ids), seat_category_ids)


def event_availability(
    reader: AvailabilityReader,
    event_ids: Sequence[int],
    performance_ids: Sequence[int] | None,
    seat_category_ids: Sequence[int] | None,
) -> list[PerformanceAvailability]:
    if not event_ids and not performance_ids:
        raise InvalidRequest("eventIds or performanceIds: at least one id is required")
    perfs = reader.performances_of_events(event_ids) if event_ids else []
    if performance_ids:
        chosen = reader.performances(performance_ids)
        if event_ids:
            allowed = {p.id for p in perfs}
            stray = [p.id for p in chosen if p.id not in allowed]
            if stray:
                raise UnknownPerformance(
                    f"performance id(s) {', '.join(map(str, stray))} not in the given event(s)"
                )
        perfs = chosen
    return reader.compute(perfs, seat_category_ids)


def product_availability(
    reader: AvailabilityReader, product_ids: Sequence[int]
) -> list[ProductAvailability]:
    by_product = reader.performances_of_products(product_ids)
    families = dict(
        reader.conn.execute(
            select(s.product.c.id, s.product.c.family_type).where(
                s.product.c.id.in_(list(by_product))
            )
        ).all()
    )
    ratios = dict(
        reader.conn.execute(
            select(s.product.c.id, s.product.c.alert_ratio).where(
                s.product.c.id.in_(list(by_product))
            )
        ).all()
    )
    computed = reader.compute([p for perfs in by_product.values() for p in perfs])
    per_perf = {a.performance_id: a for a in computed}
    result = []
    for product_id, perfs in by_product.items():
        items = tuple(per_perf[p.id] for p in perfs)
        selling = [a for a in items if a.level is not AvailabilityLevel.NOT_ON_SALE]
        capacity = sum(a.capacity for a in selling)
        available = sum(a.available for a in selling)
        result.append(
            ProductAvailability(
                product_id=product_id,
                family_type=FamilyType(families[product_id]),
                capacity=capacity,
                available=available,
                level=level_for(available, capacity, ratios[product_id], bool(selling)),
                performances=items,
            )
        )
    return result


def seats_availability(
    reader: AvailabilityReader, performance_id: int, seat_category_ids: Sequence[int] | None
) -> tuple[PerformanceAvailability, list[SeatAvailability]]:
    """Seat by seat for the numbered areas of a performance (standing places are counted
    in the category availability, not listed)."""
    (perf,) = reader.performances([performance_id])
    wanted = [c for c in (seat_category_ids or []) if c != ALL_CATEGORIES]
    summary = reader.compute([perf], wanted or [ALL_CATEGORIES])[0]
    m, o = s.movement, s.sale_order
    taken = set(
        reader.conn.execute(
            select(m.c.seat_id)
            .join(o, o.c.id == m.c.order_id)
            .where(m.c.performance_id == performance_id, live_condition(reader.now_ms))
        ).scalars()
    )
    q = (
        select(
            s.seat.c.id,
            s.seat.c.seat_category_id,
            s.area.c.code.label("area_code"),
            s.block.c.code.label("block_code"),
            s.seat.c.row_code,
            s.seat.c.number,
        )
        .join(s.area, s.area.c.id == s.seat.c.area_id)
        .join(s.block, s.block.c.id == s.seat.c.block_id)
        .where(s.seat.c.venue_id == perf.venue_id, s.area.c.numbered.is_(True))
        .order_by(s.seat.c.id)
    )
    if wanted:
        q = q.where(s.seat.c.seat_category_id.in_(wanted))
    seats = [
        SeatAvailability(
            physical_seat_id=r.id,
            seat_category_id=r.seat_category_id,
            area_code=r.area_code,
            block_code=r.block_code,
            row=r.row_code,
            number=r.number,
            numbered=True,
            free=r.id not in taken,
        )
        for r in reader.conn.execute(q)
    ]
    return summary, seats


def updated_availabilities(
    reader: AvailabilityReader, product_ids: Sequence[int] | None, reference_ms: int
) -> list[AvailabilityUpdate]:
    """Products whose availability changed after ``reference_ms`` (and up to now).

    A change is: a seat assignment created or changed state, a hold expiring, a
    sales period opening or closing, or a performance starting (its sales stop).
    """
    now = reader.now_ms
    if reference_ms > now:
        return []
    product_filter = list(product_ids or [])
    if product_filter:
        reader.performances_of_products(product_filter)  # raises on unknown ids
    m, o, pf, ev, sp = s.movement, s.sale_order, s.performance, s.event, s.sales_period
    latest: dict[int, int] = defaultdict(int)

    def take(rows: Iterable[tuple[int, int | None]]) -> None:
        for product_id, at in rows:
            if at is not None and at > latest[product_id]:
                latest[product_id] = at

    def scoped(q: Any) -> Any:
        return q.where(ev.c.product_id.in_(product_filter)) if product_filter else q

    base = m.join(pf, pf.c.id == m.c.performance_id).join(ev, ev.c.id == pf.c.event_id)
    take(
        reader.conn.execute(
            scoped(
                select(ev.c.product_id, func.max(m.c.updated_ms))
                .select_from(base)
                .where(m.c.updated_ms > reference_ms, m.c.updated_ms <= now)
                .group_by(ev.c.product_id)
            )
        ).all()
    )
    # Holds that expired (lazily: nobody has recorded it yet) in the window.
    take(
        reader.conn.execute(
            scoped(
                select(ev.c.product_id, func.max(o.c.expires_ms))
                .select_from(base.join(o, o.c.id == m.c.order_id))
                .where(
                    m.c.state == "HELD",
                    o.c.state == "OPEN",
                    o.c.expires_ms > reference_ms,
                    o.c.expires_ms <= now,
                )
                .group_by(ev.c.product_id)
            )
        ).all()
    )
    # Sales periods of the partner's channel opening or closing in the window.
    spc = s.sales_period_channel
    for column in (sp.c.start_ms, sp.c.end_ms):
        q = (
            select(sp.c.product_id, func.max(column))
            .join(spc, spc.c.sales_period_id == sp.c.id)
            .where(
                spc.c.sales_channel_id == reader.partner.sales_channel_id,
                column > reference_ms,
                column <= now,
            )
            .group_by(sp.c.product_id)
        )
        if product_filter:
            q = q.where(sp.c.product_id.in_(product_filter))
        take(reader.conn.execute(q).all())
    # Performances starting in the window (their sales stop).
    take(
        reader.conn.execute(
            scoped(
                select(ev.c.product_id, func.max(pf.c.start_ms))
                .select_from(pf.join(ev, ev.c.id == pf.c.event_id))
                .where(pf.c.start_ms > reference_ms, pf.c.start_ms <= now)
                .group_by(ev.c.product_id)
            )
        ).all()
    )
    return [
        AvailabilityUpdate(product_id=pid, last_update=from_ms(at))
        for pid, at in sorted(latest.items())
        if at > reference_ms
    ]


def _ids(values: Sequence[int], name: str) -> list[int]:
    ids = list(dict.fromkeys(values))
    if not ids:
        raise InvalidRequest(f"{name}: at least one id is required")
    if any(i < 1 for i in ids):
        raise InvalidRequest(f"{name}: ids are positive integers")
    return ids


def next_change_ms(conn: Connection, now_ms: int) -> int | None:
    """The next instant after ``now_ms`` at which availability changes by the clock
    alone (a hold expiring, a sales period opening or closing, a performance
    starting), or None. Until then, and as long as nothing is written, every
    availability answer stays the same: the SOAP adapter caches them that long."""
    o, sp, pf = s.sale_order, s.sales_period, s.performance
    candidates = [
        select(func.min(o.c.expires_ms)).where(o.c.state == "OPEN", o.c.expires_ms > now_ms),
        select(func.min(sp.c.start_ms)).where(sp.c.start_ms > now_ms),
        select(func.min(sp.c.end_ms)).where(sp.c.end_ms > now_ms),
        select(func.min(pf.c.start_ms)).where(pf.c.start_ms > now_ms),
    ]
    values = [conn.execute(q).scalar() for q in candidates]
    upcoming = [int(v) for v in values if v is not None]
    return min(upcoming) if upcoming else None
