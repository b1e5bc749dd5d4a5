"""Hand-written serializers for the few replies too big for spyne's generic one.

spyne defines the contract (types, WSDL) and serializes every reply; but its
generic serializer walks ~100,000 objects for the catalog of the large dataset
(2.5 s of a 3.3 s call). For ``getCatalogDetailed`` this module writes the very
same bytes straight from the core model with lxml's C element factory. A test
(tests/test_fastpath.py) holds the two serializers to byte-for-byte equality on
whole catalogs, and the provider contract suite validates the reply against the
served XSD, so the fast path cannot drift from the contract.

A fast handler returns None to let spyne answer instead (business errors,
unusual requests): the slow path stays the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree

from mock_server.core import catalog as core_catalog
from mock_server.core import model as m
from mock_server.core.errors import S360Error
from mock_server.simulator import Simulator
from mock_server.soap import namespaces as ns
from mock_server.soap.namespaces import SOAP11_ENV

SubElement = etree.SubElement


def _when(moment: datetime) -> str:
    return moment.isoformat()  # what spyne writes for an aware datetime


def _leaf(parent: Any, name: str, value: Any) -> None:
    if value is None:
        return  # spyne omits absent optional fields
    el = SubElement(parent, name)
    if isinstance(value, datetime):
        el.text = _when(value)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, float):
        el.text = repr(value)
    else:
        el.text = str(value)


def _text(parent: Any, name: str, value: m.Translations) -> None:
    el = SubElement(parent, name)
    for locale, text in value.items():
        tr = SubElement(el, "translations")
        _leaf(tr, "locale", locale)
        _leaf(tr, "value", text)


def _catalog(parent: Any, cat: m.Catalog) -> None:
    data = SubElement(parent, "catalogData")
    for season in cat.seasons:
        se = SubElement(data, "seasons")
        _leaf(se, "id", season.id)
        _leaf(se, "code", season.code)
        _leaf(se, "state", str(season.state))
        _leaf(se, "start", season.start)
        _leaf(se, "end", season.end)
        _text(se, "externalName", season.name)
        for product in season.products:
            _product(se, product)
    for a in cat.audience_sub_categories:
        el = SubElement(data, "audienceSubCategories")
        _leaf(el, "id", a.id)
        _leaf(el, "code", a.code)
        _leaf(el, "kind", str(a.kind))
        _text(el, "externalName", a.name)
    for p in cat.price_levels:
        el = SubElement(data, "priceLevels")
        _leaf(el, "id", p.id)
        _leaf(el, "code", p.code)
        _text(el, "externalName", p.name)


def _product(parent: Any, p: m.Product) -> None:
    pe = SubElement(parent, "products")
    _leaf(pe, "id", p.id)
    _leaf(pe, "code", p.code)
    _leaf(pe, "state", str(p.state))
    _leaf(pe, "productFamilyType", str(p.family_type))
    _text(pe, "externalName", p.name)
    _text(pe, "description", p.description)
    _leaf(pe, "minQuantity", p.min_quantity)
    _leaf(pe, "alertRatio", p.alert_ratio)
    for sp in p.sales_periods:
        el = SubElement(pe, "salesPeriods")
        _leaf(el, "id", sp.id)
        _leaf(el, "start", sp.start)
        _leaf(el, "end", sp.end)
        for channel in sp.sales_channel_ids:
            _leaf(el, "salesChannelIds", channel)
    if p.event is None:
        return
    e = p.event
    ee = SubElement(pe, "event")
    _leaf(ee, "id", e.id)
    _leaf(ee, "code", e.code)
    _text(ee, "externalName", e.name)
    ve = SubElement(ee, "venue")
    _leaf(ve, "id", e.venue.id)
    _leaf(ve, "code", e.venue.code)
    _text(ve, "externalName", e.venue.name)
    _leaf(ve, "town", e.venue.town)
    _leaf(ve, "countryCode", e.venue.country_code)
    for perf in e.performances:
        fe = SubElement(ee, "performances")
        _leaf(fe, "id", perf.id)
        _leaf(fe, "state", str(perf.state))
        _leaf(fe, "start", perf.start)
        _leaf(fe, "duration", perf.duration_minutes)
        for c in perf.seat_categories:
            ce = SubElement(fe, "seatCategories")
            _leaf(ce, "id", c.id)
            _leaf(ce, "code", c.code)
            _text(ce, "externalName", c.name)
            _leaf(ce, "rank", c.rank)
        for x in perf.prices:
            xe = SubElement(fe, "prices")
            _leaf(xe, "seatCatId", x.seat_category_id)
            _leaf(xe, "audSubCatId", x.audience_sub_category_id)
            _leaf(xe, "priceLevelId", x.price_level_id)
            _leaf(xe, "amount", x.amount)


def _envelope(tns: str, operation: str) -> tuple[Any, Any]:
    root = etree.Element(f"{{{SOAP11_ENV}}}Envelope", nsmap={"soap11env": SOAP11_ENV, "tns": tns})
    body = SubElement(root, f"{{{SOAP11_ENV}}}Body")
    return root, SubElement(body, f"{{{tns}}}{operation}Response")


def _args(operation: Any, allowed: set[str]) -> dict[str, str] | None:
    """Leaf children by name, or None when the request has anything else."""
    args: dict[str, str] = {}
    for child in operation:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name not in allowed or len(child) or name in args:
            return None
        args[name] = (child.text or "").strip()
    return args


def catalog_detailed(
    sim: Simulator, partner: m.Partner, operation: Any, request_id: str
) -> bytes | None:
    args = _args(operation, {"requestId", "seasonCode", "productCode"})
    if args is None:
        return None
    try:
        with sim.store.read() as conn:
            cat = core_catalog.catalog_detailed(
                conn, partner, args.get("seasonCode") or None, args.get("productCode") or None
            )
    except S360Error:
        return None  # spyne writes error results
    root, response = _envelope(ns.CATALOG.tns, "getCatalogDetailed")
    result = SubElement(response, "CatalogResultDetailed")
    _catalog(result, cat)
    _leaf(result, "requestId", args.get("requestId") or request_id)
    _leaf(result, "statusCode", "success")
    out: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    return out


FastHandler = Callable[[Simulator, m.Partner, Any, str], "bytes | None"]
FAST: dict[tuple[str, str], FastHandler] = {
    ("CatalogService", "getCatalogDetailed"): catalog_detailed,
}
