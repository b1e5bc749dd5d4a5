"""Virtual operators (partners), their login, point of sales and POS configuration."""

from __future__ import annotations

import hmac

from sqlalchemy import Connection, select

from mock_server.core.errors import AuthenticationFailed, UnknownPointOfSales
from mock_server.core.model import Institution, Partner, PaymentMethod, PointOfSales, POSConfig
from mock_server.store import Store
from mock_server.store import schema as s


def _credentials(store: Store) -> dict[str, tuple[str, Partner]]:
    """Logins -> (password, partner), read once per loaded dataset (partners do not
    change at run time), so authenticating a call costs no database round trip."""

    def compute() -> dict[str, tuple[str, Partner]]:
        with store.read() as conn:
            rows = conn.execute(
                select(
                    s.partner.c.id,
                    s.partner.c.login,
                    s.partner.c.operator_code,
                    s.partner.c.name,
                    s.partner.c.password,
                    s.partner.c.point_of_sales_id,
                    s.point_of_sales.c.sales_channel_id,
                ).join(s.point_of_sales, s.point_of_sales.c.id == s.partner.c.point_of_sales_id)
            ).all()
        return {
            r.login: (
                r.password,
                Partner(
                    id=r.id,
                    login=r.login,
                    operator_code=r.operator_code,
                    name=r.name,
                    point_of_sales_id=r.point_of_sales_id,
                    sales_channel_id=r.sales_channel_id,
                ),
            )
            for r in rows
        }

    result: dict[str, tuple[str, Partner]] = store.cached("credentials", compute)
    return result


def authenticate(store: Store, login: str, password: str) -> Partner:
    """The partner whose WS-Security UsernameToken this is, or AuthenticationFailed."""
    entry = _credentials(store).get(login)
    # Compare even for unknown logins, so timing does not tell which logins exist.
    expected = entry[0] if entry else "\x00unknown-login"
    if not hmac.compare_digest(expected.encode(), password.encode()) or entry is None:
        raise AuthenticationFailed("The security token could not be authenticated or authorized")
    return entry[1]


def check_point_of_sales(partner: Partner, point_of_sales_id: int | None) -> None:
    """S-360 binds an operator to one point of sales: any other id is refused."""
    if point_of_sales_id is None:
        raise UnknownPointOfSales("pointOfSalesId is mandatory")
    if point_of_sales_id != partner.point_of_sales_id:
        raise UnknownPointOfSales(
            f"point of sales {point_of_sales_id} is not available to operator {partner.login}"
        )


def institution(conn: Connection) -> Institution:
    row = conn.execute(select(s.institution)).one()
    return Institution(
        code=row.code,
        name=row.name,
        time_zone=row.time_zone,
        currency_code=row.currency_code,
        locales=tuple(row.locales),
    )


def point_of_sales(conn: Connection, pos_id: int) -> PointOfSales:
    pos = s.point_of_sales
    row = conn.execute(
        select(pos, s.sales_channel.c.code.label("channel_code"))
        .join(s.sales_channel, s.sales_channel.c.id == pos.c.sales_channel_id)
        .where(pos.c.id == pos_id)
    ).one()
    methods = conn.execute(
        select(s.payment_method)
        .join(
            s.pos_payment_method,
            s.pos_payment_method.c.payment_method_id == s.payment_method.c.id,
        )
        .where(s.pos_payment_method.c.point_of_sales_id == pos_id)
        .order_by(s.payment_method.c.id)
    )
    return PointOfSales(
        id=row.id,
        code=row.code,
        name=row.name,
        sales_channel_id=row.sales_channel_id,
        sales_channel_code=row.channel_code,
        max_seats_per_performance=row.max_seats_per_performance,
        order_abandon_delay_minutes=row.order_abandon_delay_minutes,
        payment_methods=tuple(
            PaymentMethod(id=m.id, code=m.code, name=m.name, payment_type=m.payment_type)
            for m in methods
        ),
    )


def pos_config(conn: Connection, partner: Partner) -> POSConfig:
    """getPOSConfig: the calling operator's point of sales, payment methods and limits."""
    return POSConfig(
        institution=institution(conn),
        point_of_sales=point_of_sales(conn, partner.point_of_sales_id),
    )
