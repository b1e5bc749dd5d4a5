"""The S-360 domain model as plain dataclasses and enums.

These are the read models the core hands to the adapters (SOAP, admin). Names
are S-360's (performance, seat category, audience sub-category, point of
sales); wire names (camelCase) only exist in ``mock_server/soap``. Money is an
integer in thousandths of the currency unit; times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# A translated text: locale -> value, e.g. {"en": "Hamlet", "fr": "Hamlet"}.
Translations = dict[str, str]


class ObjectState(StrEnum):
    PREPARING = "PREPARING"
    VALIDATED = "VALIDATED"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    CANCELED = "CANCELED"
    CLOSED = "CLOSED"


#: S-360 exports only these states in the catalog.
EXPORTED_STATES = (ObjectState.RUNNING, ObjectState.SUSPENDED)


class FamilyType(StrEnum):
    SINGLE_ENTRY = "SINGLE_ENTRY"
    SEASONTICKET = "SEASONTICKET"
    PASS = "PASS"
    SIMPLE_PRODUCT = "SIMPLE_PRODUCT"
    TIMESLOT = "TIMESLOT"


class TariffKind(StrEnum):
    FULL = "FULL"
    REDUCED = "REDUCED"
    FREE = "FREE"


class AvailabilityLevel(StrEnum):
    """[assumed] colour-coded availability levels (docs/assumptions.md)."""

    GOOD = "GOOD"
    LIMITED = "LIMITED"
    SOLD_OUT = "SOLD_OUT"
    NOT_ON_SALE = "NOT_ON_SALE"

    @property
    def colour(self) -> str:
        return _COLOURS[self]


_COLOURS = {
    AvailabilityLevel.GOOD: "GREEN",
    AvailabilityLevel.LIMITED: "ORANGE",
    AvailabilityLevel.SOLD_OUT: "RED",
    AvailabilityLevel.NOT_ON_SALE: "GREY",
}


class OrderState(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    ABANDONED = "ABANDONED"
    CANCELLED = "CANCELLED"


class MovementState(StrEnum):
    """A seat assignment. HELD and SOLD are *live*: at most one per seat and performance."""

    HELD = "HELD"
    SOLD = "SOLD"
    RELEASED = "RELEASED"
    CANCELLED = "CANCELLED"


LIVE_MOVEMENT_STATES = (MovementState.HELD, MovementState.SOLD)


# --- partners and points of sales --------------------------------------------


@dataclass(frozen=True)
class PaymentMethod:
    id: int
    code: str
    name: Translations
    payment_type: str


@dataclass(frozen=True)
class PointOfSales:
    id: int
    code: str
    name: Translations
    sales_channel_id: int
    sales_channel_code: str
    max_seats_per_performance: int
    order_abandon_delay_minutes: int
    payment_methods: tuple[PaymentMethod, ...] = ()


@dataclass(frozen=True)
class Partner:
    """A virtual operator: the partner's login, bound to one point of sales."""

    id: int
    login: str
    operator_code: str
    name: str
    point_of_sales_id: int
    sales_channel_id: int


@dataclass(frozen=True)
class Institution:
    code: str
    name: str
    time_zone: str
    currency_code: str
    locales: tuple[str, ...]


@dataclass(frozen=True)
class POSConfig:
    institution: Institution
    point_of_sales: PointOfSales


# --- catalog -----------------------------------------------------------------


@dataclass(frozen=True)
class SeatCategory:
    id: int
    code: str
    name: Translations
    rank: int


@dataclass(frozen=True)
class AudienceSubCategory:
    id: int
    code: str
    kind: TariffKind
    name: Translations


@dataclass(frozen=True)
class PriceLevel:
    id: int
    code: str
    name: Translations


@dataclass(frozen=True)
class Price:
    seat_category_id: int
    audience_sub_category_id: int
    price_level_id: int
    amount: int


@dataclass(frozen=True)
class SalesPeriod:
    id: int
    start: datetime
    end: datetime
    sales_channel_ids: tuple[int, ...]


@dataclass(frozen=True)
class Venue:
    id: int
    code: str
    name: Translations
    town: str
    country_code: str


@dataclass
class Performance:
    id: int
    state: ObjectState
    start: datetime
    duration_minutes: int
    seat_categories: list[SeatCategory] = field(default_factory=list)
    prices: list[Price] = field(default_factory=list)


@dataclass
class Event:
    id: int
    code: str
    name: Translations
    venue: Venue
    performances: list[Performance] = field(default_factory=list)


@dataclass
class Product:
    id: int
    code: str
    state: ObjectState
    family_type: FamilyType
    name: Translations
    description: Translations
    min_quantity: int
    alert_ratio: float
    sales_periods: list[SalesPeriod] = field(default_factory=list)
    event: Event | None = None


@dataclass
class Season:
    id: int
    code: str
    state: ObjectState
    start: datetime
    end: datetime
    name: Translations
    products: list[Product] = field(default_factory=list)


@dataclass
class Catalog:
    seasons: list[Season]
    audience_sub_categories: list[AudienceSubCategory]
    price_levels: list[PriceLevel]


# --- availability --------------------------------------------------------------


@dataclass(frozen=True)
class CategoryAvailability:
    seat_category_id: int
    seat_category_code: str
    capacity: int
    available: int
    held: int
    sold: int
    level: AvailabilityLevel


@dataclass(frozen=True)
class PerformanceAvailability:
    performance_id: int
    event_id: int
    product_id: int
    capacity: int
    available: int
    level: AvailabilityLevel
    categories: tuple[CategoryAvailability, ...]


@dataclass(frozen=True)
class ProductAvailability:
    product_id: int
    family_type: FamilyType
    capacity: int
    available: int
    level: AvailabilityLevel
    performances: tuple[PerformanceAvailability, ...]


@dataclass(frozen=True)
class SeatAvailability:
    physical_seat_id: int
    seat_category_id: int
    area_code: str
    block_code: str | None
    row: str | None
    number: int | None
    numbered: bool
    free: bool


@dataclass(frozen=True)
class AvailabilityUpdate:
    product_id: int
    last_update: datetime
