"""ContactInformationPublicService: contacts, their addresses and criteria.

Contacts belong to the institution (every partner of it sees them). A deleted
contact is soft-deleted: it is no longer found and cannot become a purchaser,
but orders that referenced it keep their data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, select

from mock_server.core.errors import (
    InvalidContactName,
    InvalidCriterionValue,
    InvalidEmail,
    InvalidRequest,
    UnknownAddress,
    UnknownContact,
    UnknownCriterion,
)
from mock_server.store import schema as s
from mock_server.store.store import inserted_id

# Pragmatic RFC 5322 subset: one @, a dot in the domain, no spaces.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
DETAILS = ("GENERAL", "ADDRESSES", "CRITERIA")


@dataclass
class Address:
    id: int | None = None
    main: bool = False
    billing: bool = False
    shipping: bool = False
    street1: str | None = None
    street2: str | None = None
    street3: str | None = None
    street4: str | None = None
    zip_code: str | None = None
    town: str | None = None
    country_code: str | None = None


@dataclass
class ContactInput:
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    birth_date: str | None = None
    addresses: list[Address] = field(default_factory=list)
    criteria: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Contact:
    contact_number: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    birth_date: str | None = None
    addresses: list[Address] | None = None
    criteria: list[tuple[str, str]] | None = None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _check_names(first: str | None, last: str | None) -> None:
    if not first or not last:
        raise InvalidContactName("firstName and lastName are mandatory")


def _check_email(email: str | None) -> None:
    if email is not None and not EMAIL_RE.match(email):
        raise InvalidEmail(f"malformed email address {email!r}")


def _check_country(address: Address) -> None:
    if address.country_code is not None and not re.fullmatch(r"[A-Z]{2}", address.country_code):
        raise InvalidRequest(
            f"countryCode {address.country_code!r}: ISO 3166 alpha-2 expected (e.g. CH)"
        )


def _live(conn: Connection, number: int) -> Any:
    row = conn.execute(
        select(s.contact).where(
            s.contact.c.contact_number == number, s.contact.c.deleted.is_(False)
        )
    ).first()
    if row is None:
        raise UnknownContact(f"no contact {number}")
    return row


def require_live_contact(conn: Connection, number: int) -> None:
    _live(conn, number)


def _criteria_rules(conn: Connection) -> dict[str, tuple[str, list[str] | None]]:
    return {r.code: (r.type, r.allowed_values) for r in conn.execute(select(s.criterion))}


def _normalise_criteria(
    conn: Connection, pairs: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    rules = _criteria_rules(conn)
    result: dict[str, str] = {}
    for code, value in pairs:
        if code not in rules:
            raise UnknownCriterion(f"unknown criterion {code!r}; known: {', '.join(sorted(rules))}")
        kind, allowed = rules[code]
        text = (value or "").strip()
        if kind == "BOOLEAN":
            if text.lower() not in ("true", "false"):
                raise InvalidCriterionValue(
                    f"criterion {code} is BOOLEAN: true or false, not {value!r}"
                )
            text = text.lower()
        elif kind == "CHOICE" and text not in (allowed or []):
            raise InvalidCriterionValue(
                f"criterion {code}: {value!r} is not one of {', '.join(allowed or [])}"
            )
        elif not text:
            raise InvalidCriterionValue(f"criterion {code}: empty value")
        result[code] = text
    return list(result.items())


def create_contacts(conn: Connection, inputs: Sequence[ContactInput], now_ms: int) -> list[Contact]:
    """createCulturalContact: all of the list or none of it."""
    if not inputs:
        raise InvalidRequest("contactDataList: at least one contact is required")
    created = []
    for data in inputs:
        first, last, email = _clean(data.first_name), _clean(data.last_name), _clean(data.email)
        _check_names(first, last)
        _check_email(email)
        criteria = _normalise_criteria(conn, data.criteria)
        for address in data.addresses:
            _check_country(address)
        if sum(1 for a in data.addresses if a.main) > 1:
            raise InvalidRequest("a contact has at most one main address")
        number = inserted_id(
            conn.execute(
                s.contact.insert().values(
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=_clean(data.phone),
                    language=_clean(data.language),
                    birth_date=_clean(data.birth_date),
                    created_ms=now_ms,
                    updated_ms=now_ms,
                )
            )
        )
        for address in data.addresses:
            _insert_address(conn, number, address)
        _write_criteria(conn, number, criteria)
        created.append(get_contact(conn, number, DETAILS))
    return created


def get_contact(conn: Connection, number: int, details: Sequence[str] | None = None) -> Contact:
    """getContactData, with the requested details (default: GENERAL)."""
    wanted = set(details or ["GENERAL"])
    unknown = wanted - set(DETAILS)
    if unknown:
        raise InvalidRequest(
            f"details: unknown value(s) {', '.join(sorted(unknown))}; use {', '.join(DETAILS)}"
        )
    row = _live(conn, number)
    contact = Contact(contact_number=row.contact_number)
    if "GENERAL" in wanted:
        contact.first_name = row.first_name
        contact.last_name = row.last_name
        contact.email = row.email
        contact.phone = row.phone
        contact.language = row.language
        contact.birth_date = row.birth_date
    if "ADDRESSES" in wanted:
        contact.addresses = [
            _address(r)
            for r in conn.execute(
                select(s.contact_address)
                .where(s.contact_address.c.contact_number == number)
                .order_by(s.contact_address.c.id)
            )
        ]
    if "CRITERIA" in wanted:
        contact.criteria = [
            (r.criterion_code, r.value)
            for r in conn.execute(
                select(s.contact_criterion)
                .where(s.contact_criterion.c.contact_number == number)
                .order_by(s.contact_criterion.c.criterion_code)
            )
        ]
    return contact


def update_contact(conn: Connection, number: int, data: ContactInput, now_ms: int) -> Contact:
    """updateContact: fields given replace the stored ones; absent fields are kept."""
    row = _live(conn, number)
    if data.addresses or data.criteria:
        raise InvalidRequest(
            "updateContact changes the general fields only: use createOrUpdateAddress and "
            "setContactCriteria for addresses and criteria"
        )
    first = _clean(data.first_name) if data.first_name is not None else row.first_name
    last = _clean(data.last_name) if data.last_name is not None else row.last_name
    _check_names(first, last)
    email = _clean(data.email) if data.email is not None else row.email
    _check_email(email)
    values: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "email": email,
        "updated_ms": now_ms,
    }
    for name in ("phone", "language", "birth_date"):
        value = getattr(data, name)
        if value is not None:
            values[name] = _clean(value)
    conn.execute(s.contact.update().where(s.contact.c.contact_number == number).values(**values))
    return get_contact(conn, number, DETAILS)


def delete_contact(conn: Connection, number: int, now_ms: int) -> None:
    _live(conn, number)
    conn.execute(
        s.contact.update()
        .where(s.contact.c.contact_number == number)
        .values(deleted=True, updated_ms=now_ms)
    )


def _address(r: Any) -> Address:
    return Address(
        id=r.id,
        main=bool(r.main),
        billing=bool(r.billing),
        shipping=bool(r.shipping),
        street1=r.street1,
        street2=r.street2,
        street3=r.street3,
        street4=r.street4,
        zip_code=r.zip_code,
        town=r.town,
        country_code=r.country_code,
    )


def _address_values(address: Address) -> dict[str, Any]:
    return {
        "main": bool(address.main),
        "billing": bool(address.billing),
        "shipping": bool(address.shipping),
        "street1": address.street1,
        "street2": address.street2,
        "street3": address.street3,
        "street4": address.street4,
        "zip_code": address.zip_code,
        "town": address.town,
        "country_code": address.country_code,
    }


def _insert_address(conn: Connection, number: int, address: Address) -> int:
    if address.main:  # one main address: the new one takes over
        conn.execute(
            s.contact_address.update()
            .where(s.contact_address.c.contact_number == number)
            .values(main=False)
        )
    new_id: int = inserted_id(
        conn.execute(
            s.contact_address.insert().values(contact_number=number, **_address_values(address))
        )
    )
    return new_id


def create_or_update_address(
    conn: Connection, number: int, address: Address, now_ms: int
) -> Address:
    _live(conn, number)
    _check_country(address)
    if address.id is None:
        address_id = _insert_address(conn, number, address)
    else:
        table = s.contact_address
        mine = and_(table.c.id == address.id, table.c.contact_number == number)
        if conn.execute(select(func.count()).where(mine)).scalar() == 0:
            raise UnknownAddress(f"contact {number} has no address {address.id}")
        if address.main:
            conn.execute(
                table.update()
                .where(table.c.contact_number == number, table.c.id != address.id)
                .values(main=False)
            )
        conn.execute(table.update().where(mine).values(**_address_values(address)))
        address_id = address.id
    conn.execute(
        s.contact.update().where(s.contact.c.contact_number == number).values(updated_ms=now_ms)
    )
    row = conn.execute(select(s.contact_address).where(s.contact_address.c.id == address_id)).one()
    return _address(row)


def delete_address(conn: Connection, number: int, address_id: int) -> None:
    _live(conn, number)
    table = s.contact_address
    deleted = conn.execute(
        table.delete().where(table.c.id == address_id, table.c.contact_number == number)
    )
    if deleted.rowcount == 0:
        raise UnknownAddress(f"contact {number} has no address {address_id}")


def _write_criteria(conn: Connection, number: int, pairs: Sequence[tuple[str, str]]) -> None:
    table = s.contact_criterion
    for code, value in pairs:
        conn.execute(
            table.delete().where(table.c.contact_number == number, table.c.criterion_code == code)
        )
        conn.execute(table.insert().values(contact_number=number, criterion_code=code, value=value))


def set_criteria(
    conn: Connection, number: int, pairs: Sequence[tuple[str, str]], now_ms: int
) -> Contact:
    """setContactCriteria: the given criteria take these values; others are kept."""
    _live(conn, number)
    if not pairs:
        raise InvalidRequest("criteria: at least one code/value pair is required")
    _write_criteria(conn, number, _normalise_criteria(conn, pairs))
    conn.execute(
        s.contact.update().where(s.contact.c.contact_number == number).values(updated_ms=now_ms)
    )
    return get_contact(conn, number, ["GENERAL", "CRITERIA"])


def search_contacts(
    conn: Connection,
    email: str | None = None,
    last_name: str | None = None,
    first_name: str | None = None,
    limit: int = 100,
) -> list[Contact]:
    """searchContacts: by email (exact, case-insensitive) and/or name (case-insensitive prefix)."""
    email, last_name, first_name = _clean(email), _clean(last_name), _clean(first_name)
    if not (email or last_name or first_name):
        raise InvalidRequest("searchContacts needs an email, a lastName or a firstName")
    c = s.contact.c
    q = select(s.contact).where(c.deleted.is_(False)).order_by(c.contact_number).limit(limit)
    if email:
        q = q.where(func.lower(c.email) == email.lower())
    if last_name:
        q = q.where(func.lower(c.last_name).like(_prefix(last_name), escape="\\"))
    if first_name:
        q = q.where(func.lower(c.first_name).like(_prefix(first_name), escape="\\"))
    return [
        Contact(
            contact_number=r.contact_number,
            first_name=r.first_name,
            last_name=r.last_name,
            email=r.email,
        )
        for r in conn.execute(q)
    ]


def _prefix(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
