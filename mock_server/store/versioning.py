"""State tokens: a random token per kind of state, changed by the database itself
(triggers) on every write to the tables that state is made of.

Replies cached by the SOAP adapter are keyed on these tokens, so a cached answer
can never show older state than a committed write, whoever made it (any worker
process, the admin API, a test poking the store directly). A random token, not a
counter, so that a snapshot restored later brings back a token that names exactly
the state it restores.

* ``catalog``: everything ``getCatalogDetailed`` and ``getPOSConfig`` read;
* ``availability``: the catalog plus orders and seat assignments.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, String, Table, select

from mock_server.store.schema import metadata

state_token = Table(
    "state_token",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("token", String(32), nullable=False),
)

CATALOG_TABLES = (
    "institution",
    "audience_sub_category",
    "price_level",
    "sales_channel",
    "payment_method",
    "point_of_sales",
    "pos_payment_method",
    "venue",
    "seat_category",
    "area",
    "block",
    "season",
    "product",
    "sales_period",
    "sales_period_channel",
    "event",
    "price",
    "performance",
)
ORDER_TABLES = ("sale_order", "movement")
TOKENS = {
    "catalog": CATALOG_TABLES,
    "availability": CATALOG_TABLES + ORDER_TABLES,
}
_NEW_TOKEN = "lower(hex(randomblob(8)))"


def install(conn: Connection) -> None:
    """Create the tokens and the triggers that change them (SQLite). Called after a
    dataset is loaded, so the bulk load itself does not fire them row by row."""
    for name in TOKENS:
        conn.exec_driver_sql(
            f"INSERT OR REPLACE INTO state_token (name, token) VALUES ('{name}', {_NEW_TOKEN})"
        )
    tables: dict[str, list[str]] = {}
    for token_name, table_names in TOKENS.items():
        for table in table_names:
            tables.setdefault(table, []).append(token_name)
    for table, token_names in tables.items():
        updates = " ".join(
            f"UPDATE state_token SET token = {_NEW_TOKEN} WHERE name = '{n}';" for n in token_names
        )
        for event in ("INSERT", "UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS trg_token_{table}_{event.lower()} "
                f"AFTER {event} ON {table} BEGIN {updates} END"
            )


def tokens(conn: Connection) -> dict[str, str]:
    return {name: token for name, token in conn.execute(select(state_token))}


TOKENS_SQL = "SELECT name, token FROM state_token"
