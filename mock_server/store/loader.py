"""Load a validated dataset document (docs/datasets.md) into the store.

Everything is inserted in ONE transaction: a dataset is loaded whole or not at
all. The caller validates the document first (``fixtures.validate``); the
schema's constraints are the last line of defence.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, Table, literal, select

from mock_server.core.clock import parse_instant, to_ms
from mock_server.store import schema, versioning
from mock_server.store.store import SCHEMA_VERSION, Store, fingerprint, inserted_id, set_meta

CHUNK = 20_000


def criterion_text(value: Any) -> str:
    """Criterion values are stored as text: booleans as 'true' / 'false'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ms(text: str) -> int:
    return to_ms(parse_instant(text))


def _bulk_insert(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Fast path for the big tables (seats, box-office movements): tuples straight to
    the DB-API ``executemany``, bypassing per-row SQLAlchemy processing (25x faster).
    Only plain values (ints, strings, None) may go this way."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    names = list(first)  # the columns the rows give (auto-numbered keys left to the database)
    rows = itertools.chain([first], iterator)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
    count = 0
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(tuple(row.get(n) for n in names))
        if len(batch) >= CHUNK:
            conn.exec_driver_sql(sql, batch)
            count += len(batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)
        count += len(batch)
    return count


def _insert(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            conn.execute(table.insert(), chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        conn.execute(table.insert(), chunk)
        count += len(chunk)
    return count


def _seats(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for venue in doc["venues"]:
        for area in venue["areas"]:
            if area.get("numbered", True):
                for block in area["blocks"]:
                    for row in block["rows"]:
                        first_id = row["firstSeatId"]
                        first_number = row.get("firstNumber", 1)
                        for i in range(row["seats"]):
                            yield {
                                "id": first_id + i,
                                "venue_id": venue["id"],
                                "area_id": area["id"],
                                "block_id": block["id"],
                                "seat_category_id": block["seatCategoryId"],
                                "row_code": row["code"],
                                "number": first_number + i,
                            }
            else:
                for i in range(area["capacity"]):
                    yield {
                        "id": area["firstSeatId"] + i,
                        "venue_id": venue["id"],
                        "area_id": area["id"],
                        "block_id": None,
                        "seat_category_id": area["seatCategoryId"],
                        "row_code": None,
                        "number": None,
                    }


def load_dataset(store: Store, doc: dict[str, Any]) -> dict[str, int]:
    """Replace the whole state with ``doc``. Returns row counts per table."""
    store.drop_schema()
    store.create_schema()
    store.invalidate()
    counts: dict[str, int] = {}
    # The two big tables are filled before their secondary indexes exist (a bulk
    # index build is several times faster than maintaining it row by row); the
    # indexes, the unique one included, are built and checked before commit.
    with store.bulk_transaction() as conn:
        for ix in (*schema.seat.indexes, *schema.movement.indexes):
            ix.drop(conn)
        inst = doc["institution"]
        conn.execute(
            schema.institution.insert().values(
                code=inst["code"],
                name=inst["name"],
                time_zone=inst["timeZone"],
                currency_code=inst["currencyCode"],
                locales=inst["locales"],
            )
        )
        simple = [
            (schema.audience_sub_category, "audienceSubCategories", ("id", "code", "kind", "name")),
            (schema.price_level, "priceLevels", ("id", "code", "name")),
            (schema.sales_channel, "salesChannels", ("id", "code", "name")),
        ]
        for table, key, cols in simple:
            counts[table.name] = _insert(conn, table, ({c: o[c] for c in cols} for o in doc[key]))
        counts["payment_method"] = _insert(
            conn,
            schema.payment_method,
            (
                {
                    "id": m["id"],
                    "code": m["code"],
                    "name": m["name"],
                    "payment_type": m["paymentType"],
                }
                for m in doc["paymentMethods"]
            ),
        )
        counts["point_of_sales"] = _insert(
            conn,
            schema.point_of_sales,
            (
                {
                    "id": p["id"],
                    "code": p["code"],
                    "name": p["name"],
                    "sales_channel_id": p["salesChannelId"],
                    "max_seats_per_performance": p["maxSeatsPerPerformance"],
                    "order_abandon_delay_minutes": p["orderAbandonDelayMinutes"],
                }
                for p in doc["pointsOfSales"]
            ),
        )
        _insert(
            conn,
            schema.pos_payment_method,
            (
                {"point_of_sales_id": p["id"], "payment_method_id": m}
                for p in doc["pointsOfSales"]
                for m in p["paymentMethodIds"]
            ),
        )
        counts["partner"] = _insert(
            conn,
            schema.partner,
            (
                {
                    "id": p["id"],
                    "login": f"{inst['code']}_{p['operatorCode']}",
                    "operator_code": p["operatorCode"],
                    "password": p["password"],
                    "name": p["name"],
                    "point_of_sales_id": p["pointOfSalesId"],
                }
                for p in doc["partners"]
            ),
        )
        # Venues and their physical layout.
        counts["venue"] = _insert(
            conn,
            schema.venue,
            (
                {
                    "id": v["id"],
                    "code": v["code"],
                    "name": v["name"],
                    "address": v.get("address", {}),
                }
                for v in doc["venues"]
            ),
        )
        _insert(
            conn,
            schema.seat_category,
            (
                {
                    "id": c["id"],
                    "venue_id": v["id"],
                    "code": c["code"],
                    "name": c["name"],
                    "rank": c.get("rank", 1),
                }
                for v in doc["venues"]
                for c in v["seatCategories"]
            ),
        )
        _insert(
            conn,
            schema.area,
            (
                {
                    "id": a["id"],
                    "venue_id": v["id"],
                    "code": a["code"],
                    "name": a["name"],
                    "numbered": a.get("numbered", True),
                }
                for v in doc["venues"]
                for a in v["areas"]
            ),
        )
        _insert(
            conn,
            schema.block,
            (
                {"id": b["id"], "area_id": a["id"], "code": b["code"], "name": b["name"]}
                for v in doc["venues"]
                for a in v["areas"]
                if a.get("numbered", True)
                for b in a["blocks"]
            ),
        )
        counts["seat"] = _bulk_insert(conn, schema.seat, _seats(doc))
        for ix in schema.seat.indexes:
            ix.create(conn)
        # Catalog.
        counts["season"] = _insert(
            conn,
            schema.season,
            (
                {
                    "id": s["id"],
                    "code": s["code"],
                    "name": s["name"],
                    "state": s["state"],
                    "start_ms": _ms(s["start"]),
                    "end_ms": _ms(s["end"]),
                }
                for s in doc["seasons"]
            ),
        )
        products = doc["products"]
        counts["product"] = _insert(
            conn,
            schema.product,
            (
                {
                    "id": p["id"],
                    "season_id": p["seasonId"],
                    "code": p["code"],
                    "state": p["state"],
                    "family_type": p["familyType"],
                    "name": p["name"],
                    "description": p.get("description", {}),
                    "min_quantity": p.get("minQuantity", 1),
                    "alert_ratio": p.get("alertRatio", 0.1),
                }
                for p in products
            ),
        )
        _insert(
            conn,
            schema.sales_period,
            (
                {
                    "id": sp["id"],
                    "product_id": p["id"],
                    "start_ms": _ms(sp["start"]),
                    "end_ms": _ms(sp["end"]),
                }
                for p in products
                for sp in p["salesPeriods"]
            ),
        )
        _insert(
            conn,
            schema.sales_period_channel,
            (
                {"sales_period_id": sp["id"], "sales_channel_id": ch}
                for p in products
                for sp in p["salesPeriods"]
                for ch in sp["salesChannelIds"]
            ),
        )
        events = [(p, p["event"]) for p in products if p.get("event")]
        counts["event"] = _insert(
            conn,
            schema.event,
            (
                {
                    "id": e["id"],
                    "product_id": p["id"],
                    "code": e["code"],
                    "name": e["name"],
                    "venue_id": e["venueId"],
                }
                for p, e in events
            ),
        )
        counts["price"] = _insert(
            conn,
            schema.price,
            (
                {
                    "event_id": e["id"],
                    "seat_category_id": pr["seatCategoryId"],
                    "audience_sub_category_id": pr["audienceSubCategoryId"],
                    "price_level_id": pr["priceLevelId"],
                    "amount": pr["amount"],
                }
                for _, e in events
                for pr in e["prices"]
            ),
        )
        counts["performance"] = _insert(
            conn,
            schema.performance,
            (
                {
                    "id": pf["id"],
                    "event_id": e["id"],
                    "state": pf["state"],
                    "start_ms": _ms(pf["start"]),
                    "duration_minutes": pf["durationMinutes"],
                }
                for _, e in events
                for pf in e["performances"]
            ),
        )
        counts["movement"] = _box_office_sales(conn, doc, events)
        counts["criterion"] = _insert(
            conn,
            schema.criterion,
            (
                {
                    "code": c["code"],
                    "name": c["name"],
                    "type": c["type"],
                    "allowed_values": c.get("values"),
                }
                for c in doc.get("contactCriteria", [])
            ),
        )
        at_ms = _ms(doc["setupLastUpdate"])
        counts["contact"] = _insert(
            conn,
            schema.contact,
            (
                {
                    "contact_number": c["contactNumber"],
                    "first_name": c["firstName"],
                    "last_name": c["lastName"],
                    "email": c.get("email"),
                    "created_ms": at_ms,
                    "updated_ms": at_ms,
                }
                for c in doc.get("contacts", [])
            ),
        )
        _insert(
            conn,
            schema.contact_criterion,
            (
                {
                    "contact_number": c["contactNumber"],
                    "criterion_code": cr["code"],
                    "value": criterion_text(cr["value"]),
                }
                for c in doc.get("contacts", [])
                for cr in c.get("criteria", [])
            ),
        )
        for ix in schema.movement.indexes:
            ix.create(conn)
        versioning.install(conn)  # from here on, every write changes the state tokens
        set_meta(conn, "schema_version", SCHEMA_VERSION)
        set_meta(conn, "dataset", {"name": doc.get("name", ""), "fingerprint": fingerprint(doc)})
        set_meta(conn, "setup_last_update_ms", _ms(doc["setupLastUpdate"]))
        set_meta(conn, "setup_version", 1)
    return counts


def box_office_order(conn: Connection, reference: str, at_ms: int) -> int:
    """A closed order of the venue's own box office (no partner): the seats it holds
    are sold outside the partners' channels (dataset pre-sales, sell-out scenarios)."""
    return inserted_id(
        conn.execute(
            schema.sale_order.insert().values(
                secret_id=secrets.token_hex(16),
                partner_id=None,
                point_of_sales_id=None,
                order_type="SALE",
                state="CLOSED",
                external_reference=reference,
                created_ms=at_ms,
                updated_ms=at_ms,
                closed_ms=at_ms,
            )
        )
    )


def _box_office_sales(conn: Connection, doc: dict[str, Any], events: list[Any]) -> int:
    """Record the dataset's box-office sales as one closed order per performance."""
    at_ms = _ms(doc["setupLastUpdate"])
    total = 0
    for _, e in events:
        for pf in e["performances"]:
            sales = pf.get("boxOfficeSales") or []
            if not sales:
                continue
            order_id = box_office_order(conn, f"BOX-OFFICE-{pf['id']}", at_ms)
            per_category: dict[int, int] = {}
            for sale in sales:
                cat = sale["seatCategoryId"]
                per_category[cat] = per_category.get(cat, 0) + sale["quantity"]
            for category_id, quantity in per_category.items():
                # One INSERT ... SELECT per category: the lowest seat ids of the category.
                seats = (
                    select(
                        literal(order_id),
                        literal(pf["id"]),
                        schema.seat.c.id,
                        literal(category_id),
                        literal(0),
                        literal("SOLD"),
                        literal(at_ms),
                        literal(at_ms),
                    )
                    .where(
                        schema.seat.c.venue_id == e["venueId"],
                        schema.seat.c.seat_category_id == category_id,
                    )
                    .order_by(schema.seat.c.id)
                    .limit(quantity)
                )
                m = schema.movement.c
                result = conn.execute(
                    schema.movement.insert().from_select(
                        [
                            m.order_id,
                            m.performance_id,
                            m.seat_id,
                            m.seat_category_id,
                            m.unit_price,
                            m.state,
                            m.created_ms,
                            m.updated_ms,
                        ],
                        seats,
                    )
                )
                total += result.rowcount
    return total
