"""The relational schema of the simulator's state (SQLAlchemy Core).

The invariants of S-360 are constraints here, not conventions in code:
unique ids and codes, foreign keys, non-negative amounts and capacities,
valid enum values, and **one live assignment per seat and performance** (a
partial unique index over movements in state HELD or SOLD). Times are integer
milliseconds since the epoch (UTC), so every backend compares them the same way.

Portable: only standard types and features SQLite and PostgreSQL both have.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# Auto-numbered keys: BIGINT generally, INTEGER PRIMARY KEY (rowid alias) on SQLite.
SERIAL = BigInteger().with_variant(Integer, "sqlite")

STATES = "('PREPARING','VALIDATED','RUNNING','SUSPENDED','CANCELED','CLOSED')"


def _state(name: str = "state") -> CheckConstraint:
    return CheckConstraint(f"{name} IN {STATES}")


meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)

institution = Table(
    "institution",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("currency_code", String(3), nullable=False),
    Column("locales", JSON, nullable=False),
)

audience_sub_category = Table(
    "audience_sub_category",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("name", JSON, nullable=False),
    CheckConstraint("kind IN ('FULL','REDUCED','FREE')"),
)

price_level = Table(
    "price_level",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", JSON, nullable=False),
)

sales_channel = Table(
    "sales_channel",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", JSON, nullable=False),
)

payment_method = Table(
    "payment_method",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", JSON, nullable=False),
    Column("payment_type", String(32), nullable=False),
)

point_of_sales = Table(
    "point_of_sales",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", JSON, nullable=False),
    Column("sales_channel_id", ForeignKey("sales_channel.id"), nullable=False),
    Column("max_seats_per_performance", Integer, nullable=False),
    Column("order_abandon_delay_minutes", Integer, nullable=False),
    CheckConstraint("max_seats_per_performance > 0"),
    CheckConstraint("order_abandon_delay_minutes > 0"),
)

pos_payment_method = Table(
    "pos_payment_method",
    metadata,
    Column("point_of_sales_id", ForeignKey("point_of_sales.id"), primary_key=True),
    Column("payment_method_id", ForeignKey("payment_method.id"), primary_key=True),
)

partner = Table(
    "partner",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("login", String(128), nullable=False, unique=True),
    Column("operator_code", String(64), nullable=False, unique=True),
    Column("password", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("point_of_sales_id", ForeignKey("point_of_sales.id"), nullable=False),
)

venue = Table(
    "venue",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", JSON, nullable=False),
    Column("address", JSON, nullable=False),
)

seat_category = Table(
    "seat_category",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("venue_id", ForeignKey("venue.id"), nullable=False, index=True),
    Column("code", String(64), nullable=False),
    Column("name", JSON, nullable=False),
    Column("rank", Integer, nullable=False),
    UniqueConstraint("venue_id", "code"),
)

area = Table(
    "area",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("venue_id", ForeignKey("venue.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", JSON, nullable=False),
    Column("numbered", Boolean, nullable=False),
    UniqueConstraint("venue_id", "code"),
)

block = Table(
    "block",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("area_id", ForeignKey("area.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", JSON, nullable=False),
    UniqueConstraint("area_id", "code"),
)

# One row per physical seat or standing place.
seat = Table(
    "seat",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("venue_id", ForeignKey("venue.id"), nullable=False),
    Column("area_id", ForeignKey("area.id"), nullable=False),
    Column("block_id", ForeignKey("block.id"), nullable=True),
    Column("seat_category_id", ForeignKey("seat_category.id"), nullable=False),
    Column("row_code", String(16), nullable=True),
    Column("number", Integer, nullable=True),
    Index("ix_seat_venue_category", "venue_id", "seat_category_id", "id"),
    # A numbered seat has a row and a number; a standing place has neither.
    CheckConstraint("(row_code IS NULL) = (number IS NULL)"),
)

season = Table(
    "season",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    _state(),
    CheckConstraint("start_ms < end_ms"),
)

product = Table(
    "product",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("season_id", ForeignKey("season.id"), nullable=False, index=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("family_type", String(32), nullable=False),
    Column("name", JSON, nullable=False),
    Column("description", JSON, nullable=False),
    Column("min_quantity", Integer, nullable=False),
    Column("alert_ratio", Float, nullable=False),
    _state(),
    CheckConstraint("min_quantity >= 1"),
    CheckConstraint("alert_ratio >= 0 AND alert_ratio <= 1"),
)

sales_period = Table(
    "sales_period",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("product_id", ForeignKey("product.id"), nullable=False, index=True),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    CheckConstraint("start_ms < end_ms"),
)

sales_period_channel = Table(
    "sales_period_channel",
    metadata,
    Column("sales_period_id", ForeignKey("sales_period.id"), primary_key=True),
    Column("sales_channel_id", ForeignKey("sales_channel.id"), primary_key=True),
)

event = Table(
    "event",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("product_id", ForeignKey("product.id"), nullable=False, unique=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", JSON, nullable=False),
    Column("venue_id", ForeignKey("venue.id"), nullable=False),
)

price = Table(
    "price",
    metadata,
    Column("event_id", ForeignKey("event.id"), primary_key=True),
    Column("seat_category_id", ForeignKey("seat_category.id"), primary_key=True),
    Column("audience_sub_category_id", ForeignKey("audience_sub_category.id"), primary_key=True),
    Column("price_level_id", ForeignKey("price_level.id"), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount >= 0"),
)

performance = Table(
    "performance",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", ForeignKey("event.id"), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    _state(),
    CheckConstraint("duration_minutes > 0"),
)


# --- contacts (ContactInformationPublicService) -----------------------------------
criterion = Table(
    "criterion",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", JSON, nullable=False),
    Column("type", String(16), nullable=False),
    Column("allowed_values", JSON, nullable=True),
    CheckConstraint("type IN ('BOOLEAN','CHOICE','TEXT')"),
)

contact = Table(
    "contact",
    metadata,
    Column("contact_number", SERIAL, primary_key=True, autoincrement=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("email", Text, nullable=True),
    Column("phone", Text, nullable=True),
    Column("language", String(8), nullable=True),
    Column("birth_date", String(10), nullable=True),
    Column("deleted", Boolean, nullable=False, server_default=text("0")),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    CheckConstraint("length(first_name) > 0 AND length(last_name) > 0"),
    Index("ix_contact_email", "email"),
    Index("ix_contact_last_name", "last_name"),
)

contact_address = Table(
    "contact_address",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("contact_number", ForeignKey("contact.contact_number"), nullable=False, index=True),
    Column("main", Boolean, nullable=False),
    Column("billing", Boolean, nullable=False),
    Column("shipping", Boolean, nullable=False),
    Column("street1", Text, nullable=True),
    Column("street2", Text, nullable=True),
    Column("street3", Text, nullable=True),
    Column("street4", Text, nullable=True),
    Column("zip_code", String(16), nullable=True),
    Column("town", Text, nullable=True),
    Column("country_code", String(2), nullable=True),
    # At most one main address per contact.
    Index(
        "ux_contact_main_address",
        "contact_number",
        unique=True,
        sqlite_where=text("main = 1"),
        postgresql_where=text("main"),
    ),
)

contact_criterion = Table(
    "contact_criterion",
    metadata,
    Column("contact_number", ForeignKey("contact.contact_number"), primary_key=True),
    Column("criterion_code", ForeignKey("criterion.code"), primary_key=True),
    Column("value", Text, nullable=False),
)

# An order. partner_id NULL = the venue's own box office (dataset pre-sales).
sale_order = Table(
    "sale_order",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("secret_id", String(64), nullable=False, unique=True),
    Column("partner_id", ForeignKey("partner.id"), nullable=True, index=True),
    Column("point_of_sales_id", ForeignKey("point_of_sales.id"), nullable=True),
    Column("order_type", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("external_reference", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=True),
    Column("closed_ms", BigInteger, nullable=True),
    Column("payment_booked_ms", BigInteger, nullable=True),
    Column("purchaser_contact_number", ForeignKey("contact.contact_number"), nullable=True),
    CheckConstraint("state IN ('OPEN','CLOSED','ABANDONED','CANCELLED')"),
    Index("ix_order_partner_reference", "partner_id", "external_reference"),
    CheckConstraint("order_type IN ('SALE','RESERVATION')"),
    Index("ix_order_open_expiry", "state", "expires_ms"),
)

# An operation: N places of one performance, seat category and tariff in an order.
operation = Table(
    "operation",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("sale_order.id"), nullable=False, index=True),
    Column("product_id", ForeignKey("product.id"), nullable=False),
    Column("performance_id", ForeignKey("performance.id"), nullable=False),
    Column("seat_category_id", ForeignKey("seat_category.id"), nullable=False),
    Column("audience_sub_category_id", ForeignKey("audience_sub_category.id"), nullable=False),
    Column("price_level_id", ForeignKey("price_level.id"), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    CheckConstraint("state IN ('ACTIVE','CANCELLED','ABANDONED')"),
    CheckConstraint("unit_price >= 0"),
)

# A movement assigns one seat (or standing place) of one performance to an order.
movement = Table(
    "movement",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("sale_order.id"), nullable=False, index=True),
    Column("operation_id", ForeignKey("operation.id"), nullable=True, index=True),
    Column("performance_id", ForeignKey("performance.id"), nullable=False),
    Column("seat_id", ForeignKey("seat.id"), nullable=False),
    Column("seat_category_id", ForeignKey("seat_category.id"), nullable=False),
    Column("audience_sub_category_id", ForeignKey("audience_sub_category.id"), nullable=True),
    Column("price_level_id", ForeignKey("price_level.id"), nullable=True),
    Column("unit_price", BigInteger, nullable=False, server_default=text("0")),
    Column("state", String(16), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    CheckConstraint("state IN ('HELD','SOLD','RELEASED','CANCELLED')"),
    CheckConstraint("unit_price >= 0"),
    Index("ix_movement_perf_state", "performance_id", "state", "seat_category_id"),
    Index("ix_movement_perf_updated", "performance_id", "updated_ms"),
    # THE invariant: a seat is in at most one live (held or sold) assignment per performance.
    Index(
        "ux_movement_live_seat",
        "performance_id",
        "seat_id",
        unique=True,
        sqlite_where=text("state IN ('HELD','SOLD')"),
        postgresql_where=text("state IN ('HELD','SOLD')"),
    ),
)

# A ticket: issued when an order is closed, one per sold movement.
ticket = Table(
    "ticket",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("movement_id", ForeignKey("movement.id"), nullable=False, unique=True),
    Column("order_id", ForeignKey("sale_order.id"), nullable=False, index=True),
    # Unique across the whole store (NULL when the partner asked for no barcodes).
    Column("barcode", String(32), nullable=True, unique=True),
    Column("state", String(16), nullable=False),
    Column("issued_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    CheckConstraint(
        "state IN ('VALID','CANCELLED','INVALIDATED','PRINTED','NOT_PRINTED','CONTROLLED')"
    ),
)

# A payment booked by closeOrder (on the partner's pending account).
payment = Table(
    "payment",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("sale_order.id"), nullable=False, index=True),
    Column("payment_method_id", ForeignKey("payment_method.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

# Tables defined beside the domain schema, on the same metadata.
from mock_server.store import control_schema, versioning  # noqa: E402,F401,I001
