"""Provider contract: a hypothesis state machine over the public S-360 SOAP API.

It runs against any S-360 base URL: the simulator (in CI) or a real sandbox (to
learn where the two differ). Rules browse the catalog, query every availability
method, create, update, close, cancel and abandon orders, create and change
contacts; every id comes from a previous answer (``Bundle``). After every call
and every step it checks:

* each reply validates against the XSD of the WSDL the endpoint serves;
* availability per performance and seat category = capacity - held - sold, as
  the machine's own holds and sales explain it (deltas from a baseline read;
  ``availability="strict"`` against the simulator, ``"tolerant"`` against a
  shared sandbox: only 0 <= available <= capacity);
* no seat in two live orders of the machine;
* barcodes unique, in the configured format (``luhn``: 21 digits with a Luhn
  check digit, as the simulator issues them; ``digits``; ``any``; ``regex:...``);
* a closed order never changes (its tickets, barcodes and seats; only the
  machine's own cancellations refund tickets);
* ``getUpdatedAvailabilities(referenceDate)`` lists every product whose
  availability the machine changed since then;
* ``getLastSetupUpdate`` never goes back.

With the control plane (the simulator) each example starts from a reset, on a
frozen clock that only the ``advance_clock`` rule moves, with rate limits off.
``sandbox_safe`` keeps the machine inside the platform's published limits (its
own call log: getCatalogDetailed once per 10 minutes, each availability method
once a minute, 60 calls a minute in all) and honours any Retry-After it meets.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import random
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    get_state_machine_test,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from contract_tests.soapclient import Endpoint, S360Api

PROFILES: dict[str, dict[str, Any]] = {
    # make test: bounded and derandomized (the whole provider run well under 60 s)
    "ci": {"max_examples": 15, "stateful_step_count": 30, "derandomize": True},
    "dev": {"max_examples": 40, "stateful_step_count": 40},
    "thorough": {"max_examples": 300, "stateful_step_count": 80},
}
SANDBOX_PROFILE = {"max_examples": 2, "stateful_step_count": 15}

AVAILABILITY_METHODS = (
    "getProductAvailability",
    "getEventAvailability",
    "getPerformanceAvailability",
    "getSeatsAvailability",
)
# The platform's published limits, as the sandbox-safe budget counts them (seconds, calls).
BUDGETS = {
    "getCatalogDetailed": (600.0, 1),
    **{op: (60.0, 1) for op in AVAILABILITY_METHODS},
    "getUpdatedAvailabilities": (60.0, 6),
}
INSTANCE_BUDGET = (60.0, 60)  # a third of the platform's 180 per minute


@dataclass
class ProviderOptions:
    availability: str = "strict"  # strict | tolerant | off
    barcode_format: str = "luhn"  # luhn | digits | any | regex:PATTERN
    sandbox_safe: bool = False
    profile: str = "ci"
    seed: int | None = None
    max_examples: int | None = None
    steps: int | None = None
    shrink: bool = True  # False: report the failing sequence as found (faster)

    def settings(self) -> settings:
        base = dict(SANDBOX_PROFILE if self.sandbox_safe else PROFILES[self.profile])
        if self.max_examples is not None:
            base["max_examples"] = self.max_examples
        if self.steps is not None:
            base["stateful_step_count"] = self.steps
        if self.seed is not None:
            base["derandomize"] = False
        return settings(
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target)
            + ((Phase.shrink,) if self.shrink else ()),
            **base,
        )


def barcode_ok(code: str | None, fmt: str) -> bool:
    if fmt == "any":
        return bool(code)
    if not code:
        return False
    if fmt == "digits":
        return code.isdigit()
    if fmt.startswith("regex:"):
        return re.fullmatch(fmt[len("regex:") :], code) is not None
    from mock_server.core.barcodes import is_valid_barcode

    return is_valid_barcode(code)


class Budget:
    """The machine's own call log, to stay inside the platform's limits (sandbox-safe)."""

    def __init__(self) -> None:
        self.calls: dict[str, deque[float]] = defaultdict(deque)
        self.all: deque[float] = deque()
        self.blocked: dict[str, float] = {}

    def allows(self, operation: str) -> bool:
        now = time.monotonic()
        if self.blocked.get(operation, 0) > now or self.blocked.get("*", 0) > now:
            return False
        window, limit = INSTANCE_BUDGET
        if sum(1 for c in self.all if c > now - window) >= limit:
            return False
        if operation in BUDGETS:
            window, limit = BUDGETS[operation]
            return sum(1 for c in self.calls[operation] if c > now - window) < limit
        return True

    def record(self, operation: str) -> None:
        now = time.monotonic()
        self.calls[operation].append(now)
        self.all.append(now)

    def block(self, operation: str, seconds: float) -> None:
        self.blocked[operation] = time.monotonic() + seconds + 1


@dataclass(frozen=True)
class Offer:
    """A price of the catalog: what an order line needs, as the catalog gave it."""

    performance_id: int
    product_id: int
    product_code: str
    event_id: int
    seat_category_id: int
    tariff_id: int
    amount: int


@dataclass(frozen=True)
class Mark:
    at: datetime
    changes: int  # the length of the machine's change log when the mark was taken


@dataclass
class OrderModel:
    order_id: int
    expires_ms: int | None = None
    state: str = "OPEN"
    paid: bool = False
    seats: dict[int, tuple[int, int, str]] = field(default_factory=dict)  # seat -> perf, cat, state
    products: set[int] = field(default_factory=set)
    closed_tickets: dict[int, tuple[str | None, int | None]] | None = None
    refunded: bool = False
    ended_ms: int | None = None  # when this run closed, paid, cancelled or abandoned it
    had_held: bool = False

    def live(self, state: str, now_ms: int) -> bool:
        """A place of this order counts as taken (sold, or held and not expired)."""
        return state == "SOLD" or (
            state == "HELD"
            and self.state == "OPEN"
            and (self.paid or self.expires_ms is None or now_ms < self.expires_ms)
        )

    def expired_between(self, since_ms: int, now_ms: int) -> bool:
        """Its holds expired in (since, now] (the platform reports that as a change)."""
        if not self.had_held or self.paid or self.expires_ms is None:
            return False
        if self.ended_ms is not None and self.ended_ms < self.expires_ms:
            return False
        return since_ms < self.expires_ms <= now_ms


class ProviderContext:
    """What the machine's examples share in one run: the API, the budget, the catalog."""

    def __init__(self, endpoint: Endpoint, options: ProviderOptions) -> None:
        self.endpoint = endpoint
        self.options = options
        self.admin = endpoint.admin
        self.api = S360Api(endpoint)
        self.budget = Budget()
        self.catalog: Any = None
        self.pos: Any = None
        self.examples = 0
        self.calls = 0

    @property
    def controlled(self) -> bool:
        return self.admin is not None


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class Skip(Exception):  # noqa: N818 - a step that could not run (rate limited on a sandbox)
    pass


def step(function: Any) -> Any:
    """A rule whose call the sandbox-safe budget refused is a no-op, not a failure."""

    @functools.wraps(function)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(self, *args, **kwargs)
        except Skip:
            return multiple()

    return run


class ProviderMachine(RuleBasedStateMachine):
    ctx: ProviderContext  # bound by make_machine()

    offers = Bundle("offers")
    orders = Bundle("orders")
    contacts = Bundle("contacts")
    marks = Bundle("marks")

    def __init__(self) -> None:
        super().__init__()
        ctx = self.ctx
        ctx.examples += 1
        self.api = ctx.api
        self.options = ctx.options
        self.strict = self.options.availability == "strict" and ctx.controlled
        self.model: dict[int, OrderModel] = {}
        self.baseline: dict[tuple[int, int | None], tuple[int, int]] = {}
        self.changes: list[tuple[int, int]] = []  # (server ms, product) the machine caused
        self.last_setup: datetime | None = None
        self.pos: Any = None
        self.barcodes: dict[str, int] = {}
        if ctx.controlled:
            ctx.admin.reset()
            ctx.admin.set_rate_limits("off")
            ctx.admin.freeze_clock()
            self.now_ms = int(ctx.admin.clock()["nowMs"])

    # -- calls ---------------------------------------------------------------------------
    def now(self) -> int:
        if self.ctx.controlled:
            return self.now_ms
        return int(time.time() * 1000)

    def call(self, operation: str, **params: Any) -> Any:
        from zeep.exceptions import Fault

        budget = self.ctx.budget
        if self.options.sandbox_safe:
            if not budget.allows(operation):
                raise Skip(operation)
            budget.record(operation)
        self.ctx.calls += 1
        before = len(self.api.schema_errors)
        try:
            result = self.api.call(operation, **params)
        except Fault as fault:
            exchange = self.api.exchanges[-1]
            if "RateLimitExceeded" in str(fault.code):
                if self.options.sandbox_safe:
                    budget.block(operation, exchange.retry_after or 60)
                    raise Skip(operation) from None
                raise AssertionError(
                    f"{operation}: rate limited (Retry-After {exchange.retry_after}); run with "
                    "rate limits off (the simulator) or sandbox_safe"
                ) from None
            raise AssertionError(
                f"{operation}({params}): SOAP fault {fault.code}: {fault.message}"
            ) from None
        except Exception as error:  # zeep could not read the reply (strict: not the WSDL's)
            self.schema_check(operation, before)
            raise AssertionError(f"{operation}: {type(error).__name__}: {error}") from None
        self.schema_check(operation, before)
        assert result.statusCode is not None, f"{operation}: no statusCode"
        return result

    def schema_check(self, operation: str, before: int) -> None:
        errors = self.api.schema_errors[before:]
        assert not errors, (
            f"{operation}: the reply does not match the served WSDL's XSD:\n"
            + "\n".join(errors[:10])
        )

    # -- initial state ---------------------------------------------------------------------
    @initialize(target=offers)
    @step
    def catalog(self) -> Any:
        if self.ctx.pos is None or not self.options.sandbox_safe:
            self.ctx.pos = self.call("getPOSConfig").posConfigData
        self.pos = self.ctx.pos
        assert self.pos is not None and self.pos.posId, "getPOSConfig: no point of sales"
        self.record_setup(self.call("getLastSetupUpdate").lastUpdate)
        catalog = self.ctx.catalog
        if catalog is None or not self.options.sandbox_safe:
            catalog = self.call("getCatalogDetailed").catalogData
            self.ctx.catalog = catalog
        offers = []
        for season in catalog.seasons or []:
            for product in season.products or []:
                if product.event is None:
                    continue
                for perf in product.event.performances or []:
                    # two prices per performance: enough to mix categories and tariffs
                    for price in (perf.prices or [])[:: max(1, len(perf.prices or []) // 2)][:2]:
                        offers.append(
                            Offer(
                                perf.id,
                                product.id,
                                product.code,
                                product.event.id,
                                price.seatCatId,
                                price.audSubCatId,
                                price.amount,
                            )
                        )
        assert offers, "getCatalogDetailed: no performance with a price"
        return multiple(*offers)

    def record_setup(self, last: datetime | None) -> None:
        if last is None:
            return
        if self.last_setup is not None:
            assert last >= self.last_setup, (
                f"getLastSetupUpdate went back: {last.isoformat()} after {self.last_setup.isoformat()}"
            )
        self.last_setup = last

    # -- catalog ---------------------------------------------------------------------------
    @rule(
        operation=st.sampled_from(("getLastSetupUpdate", "getPOSConfig", "isCatalogServiceAlive"))
    )
    @step
    def catalog_service(self, operation: str) -> None:
        r = self.call(operation)
        assert r.statusCode == "success", f"{operation}: {r.statusCode}"
        if operation == "getLastSetupUpdate":
            self.record_setup(r.lastUpdate)
        elif operation == "getPOSConfig":
            assert r.posConfigData.posId == self.pos.posId, (
                "getPOSConfig: the point of sales changed"
            )

    @precondition(lambda self: not self.options.sandbox_safe)
    @rule(offer=offers)
    @step
    def catalog_of_product(self, offer: Offer) -> None:
        r = self.call("getCatalogDetailed", productCode=offer.product_code)
        assert r.statusCode == "success", (
            f"getCatalogDetailed({offer.product_code}): {r.statusCode}"
        )
        products = [p.id for s in r.catalogData.seasons or [] for p in s.products or []]
        assert products == [offer.product_id], f"productCode {offer.product_code}: {products}"

    # -- availability ------------------------------------------------------------------------
    def live(self, perf: int, category: int | None) -> int:
        """Places the machine holds (unexpired) or bought, of a performance (and category)."""
        now = self.now()
        n = 0
        for order in self.model.values():
            for p, c, state in order.seats.values():
                if p == perf and (category is None or c == category) and order.live(state, now):
                    n += 1
        return n

    def observe(self, perf: int, category: int | None, capacity: int, available: int) -> None:
        where = f"performance {perf}" + (f" category {category}" if category else "")
        assert 0 <= available <= capacity, f"{where}: available {available} of capacity {capacity}"
        if self.options.availability == "off":
            return
        mine = self.live(perf, category)
        key = (perf, category)
        if key not in self.baseline:
            self.baseline[key] = (available, mine)
            return
        base_available, base_mine = self.baseline[key]
        expected = base_available - (mine - base_mine)
        if self.strict:
            assert available == expected, (
                f"{where}: available {available}, but capacity - held - sold as this run's "
                f"orders explain it is {expected} (baseline {base_available} with {base_mine} "
                f"of ours, {mine} of ours now)"
            )

    def observe_performance(self, pa: Any) -> None:
        cats = pa.seatCategoryAvailabilities or []
        for ca in cats:
            self.observe(pa.performanceId, ca.seatCategoryId, ca.capacity, ca.available)
        if not cats:
            self.observe(pa.performanceId, None, pa.capacity, pa.available)

    def selector(self, offer: Offer, kind: str) -> list[int] | None:
        return {"none": None, "all": [-1], "one": [offer.seat_category_id]}[kind]

    @rule(
        method=st.sampled_from(AVAILABILITY_METHODS),
        offer=offers,
        other=st.none() | offers,
        kind=st.sampled_from(("none", "all", "one")),
        by_event=st.booleans(),
    )
    @step
    def availability(
        self, method: str, offer: Offer, other: Offer | None, kind: str, by_event: bool
    ) -> None:
        if method == "getProductAvailability":
            self.product_availability(offer)
        elif method == "getEventAvailability":
            self.event_availability(offer, kind, by_event)
        elif method == "getPerformanceAvailability":
            self.performance_availability(offer, other, kind)
        else:
            self.seats_availability(offer)

    def product_availability(self, offer: Offer) -> None:
        r = self.call(
            "getProductAvailability", pointOfSalesId=self.pos.posId, productIds=[offer.product_id]
        )
        assert r.statusCode == "success", r.statusCode
        (product,) = r.productAvailabilities
        assert product.productId == offer.product_id
        for pa in product.performanceAvailabilities or []:
            assert 0 <= pa.available <= pa.capacity

    def event_availability(self, offer: Offer, kind: str, by_event: bool) -> None:
        target = (
            {"eventIds": [offer.event_id]}
            if by_event
            else {"performanceIds": [offer.performance_id]}
        )
        r = self.call(
            "getEventAvailability",
            pointOfSalesId=self.pos.posId,
            seatCategoryIds=self.selector(offer, kind),
            **target,
        )
        assert r.statusCode == "success", r.statusCode
        ids = [pa.performanceId for pa in r.performanceAvailabilities]
        assert offer.performance_id in ids, f"getEventAvailability: {ids}"
        for pa in r.performanceAvailabilities:
            self.check_selector(pa, kind, offer)
            self.observe_performance(pa)

    def check_selector(self, pa: Any, kind: str, offer: Offer) -> None:
        cats = [c.seatCategoryId for c in pa.seatCategoryAvailabilities or []]
        if kind == "none":
            assert not cats, f"no seatCategoryIds: categories itemised anyway {cats}"
        elif kind == "one":
            assert cats == [offer.seat_category_id], (
                f"seatCategoryIds [{offer.seat_category_id}]: {cats}"
            )
        else:
            assert cats, "seatCategoryIds [-1]: no category itemised"
            assert sum(c.available for c in pa.seatCategoryAvailabilities) == pa.available, (
                f"performance {pa.performanceId}: categories do not add up to the total"
            )

    def performance_availability(self, offer: Offer, other: Offer | None, kind: str) -> None:
        offers_ = [offer] if other is None else [offer, other]
        ids = list(dict.fromkeys(o.performance_id for o in offers_))
        r = self.call(
            "getPerformanceAvailability",
            pointOfSalesId=self.pos.posId,
            performanceIds=ids,
            seatCategoryIds=self.selector(offers_[0], kind)
            if kind != "one" or len(ids) == 1
            else [-1],
        )
        assert r.statusCode == "success", r.statusCode
        assert [pa.performanceId for pa in r.performanceAvailabilities] == ids
        for pa in r.performanceAvailabilities:
            self.observe_performance(pa)

    def seats_availability(self, offer: Offer) -> None:
        r = self.call(
            "getSeatsAvailability",
            pointOfSalesId=self.pos.posId,
            performanceId=offer.performance_id,
        )
        assert r.statusCode == "success", r.statusCode
        self.observe_performance(r.performanceAvailability)
        taken = {s.physicalSeatId for s in r.seats or [] if s.state == "TAKEN"}
        now = self.now()
        for order in self.model.values():
            for seat, (perf, _cat, state) in order.seats.items():
                listed = any(s.physicalSeatId == seat for s in r.seats or [])
                if perf == offer.performance_id and order.live(state, now) and listed:
                    assert seat in taken, f"seat {seat} of order {order.order_id} is not TAKEN"

    @rule(target=marks)
    @step
    def mark(self) -> Mark:
        if self.ctx.controlled:
            at = datetime.fromtimestamp(self.now() / 1000, UTC)
        else:  # the wall clock, a little early: more products listed, never fewer
            at = datetime.now(UTC) - timedelta(seconds=5)
        return Mark(at, len(self.changes))

    @rule(mark=marks)
    @step
    def updated_availabilities(self, mark: Mark) -> None:
        r = self.call(
            "getUpdatedAvailabilities", pointOfSalesId=self.pos.posId, referenceDate=mark.at
        )
        assert r.statusCode == "success", r.statusCode
        listed = {u.productId for u in r.availabilityUpdateData or []}
        since = _ms(mark.at)
        if self.ctx.controlled:
            expected = {p for at, p in self.changes if at > since}
            now = self.now()
            for order in self.model.values():  # holds that expired since the mark
                if order.expired_between(since, now):
                    expected |= order.products
        else:
            expected = {p for _at, p in self.changes[mark.changes :]}
        missing = expected - listed
        assert not missing, (
            f"getUpdatedAvailabilities({mark.at.isoformat()}) does not list products {sorted(missing)} "
            f"whose availability this run changed since (listed {sorted(listed)})"
        )

    @precondition(lambda self: self.ctx.controlled)
    @rule(minutes=st.sampled_from((1, 5, 16)))
    @step
    def advance_clock(self, minutes: int) -> None:
        self.ctx.admin.advance_clock(minutes * 60)
        self.now_ms += minutes * 60_000

    # -- orders -------------------------------------------------------------------------------
    def changed(self, products: set[int]) -> None:
        now = self.now()
        self.changes.extend((now, p) for p in products)

    def apply(
        self, data: Any, facade: bool, cause: bool = True, cancelled: bool = False
    ) -> OrderModel:
        """Take in an order as the API answered it. ``cause``: this run's call changed it
        (a change getUpdatedAvailabilities must report), not a read."""
        order = self.model.setdefault(data.orderId, OrderModel(data.orderId))
        previous = {seat: state for seat, (_p, _c, state) in order.seats.items()}
        order.state = data.orderState
        if data.expirationDate is not None:
            order.expires_ms = _ms(data.expirationDate)
        movements = data.movementDataUpdates if facade else data.movementDatas
        ops = data.operationDataUpdates if facade else data.operationDatas
        for op in ops or []:
            order.products.add(op.productId)
        order.seats = {
            m.seatId: (m.performanceId, m.seatCategoryId, m.movementState) for m in movements or []
        }
        order.had_held |= any(state == "HELD" for _p, _c, state in order.seats.values())
        if not facade and (data.payments or []):
            order.paid = True
        if cause and order.ended_ms is None and order.state != "OPEN":
            order.ended_ms = self.now()
        current = {seat: state for seat, (_p, _c, state) in order.seats.items()}
        if cause and current != previous:
            self.changed(order.products)
        if not facade:
            self.check_closed(order, data, cancelled)
        return order

    def check_closed(self, order: OrderModel, data: Any, cancelled: bool) -> None:
        tickets = {t.ticketId: (t.barcode, t.seatId) for t in data.tickets or []}
        if order.closed_tickets is None:
            if data.orderState == "CLOSED":
                order.closed_tickets = tickets
                for barcode, _seat in tickets.values():
                    assert barcode_ok(barcode, self.options.barcode_format), (
                        f"order {order.order_id}: barcode {barcode!r} is not {self.options.barcode_format}"
                    )
                    owner = self.barcodes.setdefault(barcode, order.order_id) if barcode else None
                    assert owner in (None, order.order_id), (
                        f"barcode {barcode} of order {order.order_id} was issued to order {owner}"
                    )
            return
        assert data.orderState == "CLOSED", (
            f"closed order {order.order_id} became {data.orderState}"
        )
        assert tickets == order.closed_tickets, (
            f"closed order {order.order_id} changed its tickets: {order.closed_tickets} -> {tickets}"
        )
        if cancelled:
            order.refunded = True
        states = {t.ticketState for t in data.tickets or []}
        if not order.refunded:
            assert states <= {"VALID"}, f"closed order {order.order_id}: tickets {states} unasked"

    def line(self, offer: Offer, quantity: int) -> dict[str, Any]:
        return {
            "performanceId": offer.performance_id,
            "seatCategoryId": offer.seat_category_id,
            "audienceSubCategoryId": offer.tariff_id,
            "quantity": quantity,
        }

    @rule(
        target=orders,
        offer=offers,
        quantity=st.integers(1, 4),
        contact=st.none() | contacts,
        reference=st.booleans(),
    )
    @step
    def create_order(
        self, offer: Offer, quantity: int, contact: int | None, reference: bool
    ) -> Any:
        extra: dict[str, Any] = {}
        if contact is not None:
            extra["purchasersInfo"] = [{"contactReference": str(contact)}]
        if reference:
            extra["externalReference"] = f"CT-{random.getrandbits(48):012x}"
        r = self.call(
            "createOrUpdateOrder",
            pointOfSalesId=self.pos.posId,
            orderType="SALE",
            singleEntryAttributionOperations=[
                {"operationAttributions": [self.line(offer, quantity)]}
            ],
            **extra,
        )
        if r.statusCode != "success":
            return multiple()
        data = r.orderUpdateData
        assert data.orderState == "OPEN", data.orderState
        assert len(data.movementDataUpdates) == quantity, "one movement per place"
        assert data.totalAmount == offer.amount * quantity, (
            f"order total {data.totalAmount}, catalog price {offer.amount} x {quantity}"
        )
        if reference:  # retrying the create is idempotent
            again = self.call(
                "createOrUpdateOrder",
                pointOfSalesId=self.pos.posId,
                orderType="SALE",
                singleEntryAttributionOperations=[
                    {"operationAttributions": [self.line(offer, quantity)]}
                ],
                **extra,
            )
            assert (
                again.statusCode == "success" and again.orderUpdateData.orderId == data.orderId
            ), (
                "a create retried with the same externalReference made another order (idempotent "
                "create is an assumption of the simulator: docs/assumptions.md)"
            )
        self.apply(data, facade=True)
        return data.orderId

    @rule(target=orders, offer=offers, quantity=st.integers(1, 3))
    @step
    def purchase(self, offer: Offer, quantity: int) -> Any:
        """The partner flow in one step: availability, create, close."""
        self.performance_availability(offer, None, "one")
        order = self.create_order(offer, quantity, None, True)
        if isinstance(order, int):
            self.close_order(order)
        return order

    @rule(
        order=orders,
        action=st.sampled_from(("close", "details", "add", "remove", "cancel", "abandon")),
        offer=offers,
        quantity=st.integers(1, 2),
    )
    @step
    def change_order(self, order: int, action: str, offer: Offer, quantity: int) -> None:
        if action == "add":
            self.add_to_order(order, offer, quantity)
        elif action == "remove":
            self.remove_from_order(order)
        elif action == "details":
            self.refresh(order)
        else:
            getattr(self, f"{action}_order")(order)

    def add_to_order(self, order: int, offer: Offer, quantity: int) -> None:
        r = self.call(
            "createOrUpdateOrder",
            pointOfSalesId=self.pos.posId,
            orderId=order,
            singleEntryAttributionOperations=[
                {"operationAttributions": [self.line(offer, quantity)]}
            ],
        )
        if r.statusCode == "success":
            self.apply(r.orderUpdateData, facade=True)
        else:
            self.refresh(order)

    def remove_from_order(self, order: int) -> None:
        details = self.refresh(order)
        if details is None:
            return
        active = [
            o.operationId for o in details.operationDatas or [] if o.operationState == "ACTIVE"
        ]
        if not active:
            return
        r = self.call(
            "createOrUpdateOrder",
            pointOfSalesId=self.pos.posId,
            orderId=order,
            operationIdsToRemove=active[:1],
        )
        if r.statusCode == "success":
            self.apply(r.orderUpdateData, facade=True)

    def refresh(self, order: int) -> Any:
        r = self.call("getOrderDetails", orderId=order)
        assert r.statusCode == "success", f"getOrderDetails({order}): {r.statusCode}"
        self.apply(r.orderData, facade=False, cause=False)
        return r.orderData

    def close_order(self, order: int) -> None:
        pending = [m.id for m in self.pos.paymentMethods if m.paymentType == "PENDING_ACCOUNT"]
        details = self.refresh(order)
        total = details.saleAmount
        r = self.call(
            "closeOrder",
            orderId=order,
            generateBarCodes=True,
            payments=[{"paymentMethodId": pending[0], "amount": total}] if pending else None,
            totalAmount=total,
        )
        if r.statusCode == "success":
            data = r.orderData
            assert data.orderState == "CLOSED", data.orderState
            self.apply(data, facade=False)
            sold = [m for m in data.movementDatas or [] if m.movementState == "SOLD"]
            assert len(data.tickets or []) >= len(sold), "a ticket per sold place"
        else:
            self.refresh(order)

    def cancel_order(self, order: int) -> None:
        r = self.call("cancelOperations", orderId=order)
        if r.statusCode == "success":
            self.apply(r.orderData, facade=False, cancelled=True)
        else:
            self.refresh(order)

    def abandon_order(self, order: int) -> None:
        r = self.call("abandonMovements", orderId=order)
        if r.statusCode == "success":
            data = r.orderData
            assert data.orderState == "ABANDONED", data.orderState
            self.apply(data, facade=False)
        else:
            self.refresh(order)

    # -- contacts ----------------------------------------------------------------------------
    @rule(
        target=contacts,
        first=st.sampled_from(("Ada", "Grace", "Émilie", "Zoë")),
        last=st.sampled_from(("Lovelace", "Hopper", "du Châtelet", "O'Brien")),
    )
    @step
    def create_contact(self, first: str, last: str) -> Any:
        r = self.call(
            "createCulturalContact",
            contactDataList=[
                {
                    "firstName": first,
                    "lastName": last,
                    "email": f"{first.encode('ascii', 'ignore').decode().lower()}@example.org",
                }
            ],
        )
        assert r.statusCode == "success", r.statusCode
        (created,) = r.contacts
        got = self.call("getContactData", contactNumber=created.contactNumber)
        assert got.statusCode == "success" and got.lastName == last, (got.statusCode, got.lastName)
        return created.contactNumber

    @rule(contact=contacts, last=st.sampled_from(("Curie", "Noether", "Meitner")))
    @step
    def update_contact(self, contact: int, last: str) -> None:
        r = self.call("updateContact", contactNumber=contact, contactData={"lastName": last})
        assert r.statusCode == "success", r.statusCode
        got = self.call("getContactData", contactNumber=contact)
        assert got.lastName == last, f"updateContact: lastName {got.lastName!r}, sent {last!r}"

    @rule(contact=consumes(contacts))
    @step
    def delete_contact(self, contact: int) -> None:
        r = self.call("deleteContact", contactNumber=contact)
        assert r.statusCode == "success", r.statusCode
        assert self.call("getContactData", contactNumber=contact).statusCode != "success"

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def no_seat_in_two_live_orders(self) -> None:
        owners: dict[tuple[int, int], int] = {}
        now = self.now()
        for order in self.model.values():
            for seat, (perf, _cat, state) in order.seats.items():
                if not order.live(state, now):
                    continue
                other = owners.setdefault((perf, seat), order.order_id)
                assert other == order.order_id, (
                    f"seat {seat} of performance {perf} is live in orders {other} and {order.order_id}"
                )

    def teardown(self) -> None:
        if self.ctx.controlled:
            return
        for order in self.model.values():  # leave a shared sandbox as we found it
            if order.state in ("OPEN", "CLOSED") and not order.refunded:
                with contextlib.suppress(Exception):
                    self.api.call("cancelOperations", orderId=order.order_id)


def make_machine(context: ProviderContext) -> type[ProviderMachine]:
    return type("S360Provider", (ProviderMachine,), {"ctx": context})


@dataclass
class ProviderResult:
    examples: int
    calls: int
    seconds: float
    seed: int | None


def run_provider(endpoint: Endpoint, options: ProviderOptions | None = None) -> ProviderResult:
    """Run the provider state machine; raises on the first contract failure, after
    shrinking it to a minimal call sequence (printed by hypothesis)."""
    options = options or ProviderOptions()
    if options.availability == "strict" and endpoint.admin is None:
        options.availability = "tolerant"  # a shared sandbox: other traffic moves availability
    context = ProviderContext(endpoint, options)
    machine = make_machine(context)
    started = time.monotonic()
    config = options.settings()
    if options.seed is None and not config.derandomize:
        options.seed = random.getrandbits(32)  # printed on failure, to replay the run
    test = get_state_machine_test(machine, settings=config)
    if options.seed is not None:
        test = seed(options.seed)(test)
    try:
        # Older hypothesis versions pass the factory to the test; newer ones close over it.
        test(machine) if inspect.signature(test).parameters else test()
    except BaseException as error:
        if options.seed is not None and hasattr(error, "add_note"):
            error.add_note(
                f"replay: --s360-seed {options.seed} (s360-mock contract provider --seed)"
            )
        raise
    finally:
        if context.controlled:  # back to the start: clock running, start-up rate limits
            with contextlib.suppress(Exception):
                context.admin.reset()
    return ProviderResult(context.examples, context.calls, time.monotonic() - started, options.seed)
