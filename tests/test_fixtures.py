"""The dataset generator, schema and validator of ``fixtures/`` (contract: docs/datasets.md)."""

from __future__ import annotations

import copy
import json
import pathlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from fixtures import generator
from fixtures.generator import SIZES, dump, generate
from fixtures.validate import (
    DatasetError,
    Problem,
    default_dataset_path,
    load_dataset,
    load_schema,
    validate_dataset,
)

Doc = dict[str, Any]
REPO = pathlib.Path(__file__).resolve().parents[1]


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_doc() -> Doc:
    return load_dataset(default_dataset_path())


@pytest.fixture
def doc(default_doc: Doc) -> Doc:
    """A deep copy of the default dataset, free to break."""
    return copy.deepcopy(default_doc)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def performances(doc: Doc) -> Iterator[tuple[Doc, Doc]]:
    for product in doc["products"]:
        for performance in product["event"]["performances"]:
            yield product, performance


def find_performance(doc: Doc, performance_id: int) -> tuple[Doc, Doc]:
    for product, performance in performances(doc):
        if performance["id"] == performance_id:
            return product, performance
    raise AssertionError(f"no performance {performance_id}")


def find_product(doc: Doc, product_id: int) -> Doc:
    return next(p for p in doc["products"] if p["id"] == product_id)


def venue_capacity(venue: Doc) -> dict[int, int]:
    """Seat category id -> number of physical seats in the venue."""
    capacity = {category["id"]: 0 for category in venue["seatCategories"]}
    for area in venue["areas"]:
        if area["numbered"]:
            for block in area["blocks"]:
                capacity[block["seatCategoryId"]] += sum(row["seats"] for row in block["rows"])
        else:
            capacity[area["seatCategoryId"]] += area["capacity"]
    return capacity


def remaining(doc: Doc, product: Doc, performance: Doc) -> dict[int, int]:
    venue = next(v for v in doc["venues"] if v["id"] == product["event"]["venueId"])
    left = venue_capacity(venue)
    for sale in performance.get("boxOfficeSales", []):
        left[sale["seatCategoryId"]] -= sale["quantity"]
    return left


def counts(doc: Doc) -> tuple[int, int, int]:
    seats = sum(sum(venue_capacity(venue).values()) for venue in doc["venues"])
    return len(doc["venues"]), sum(1 for _ in performances(doc)), seats


def paths(problems: list[Problem]) -> list[str]:
    return [problem.path for problem in problems]


def on_sale_at_clock_start(doc: Doc, product: Doc, channel_id: int) -> bool:
    clock = instant(doc["clockStart"])
    return any(
        channel_id in period["salesChannelIds"]
        and instant(period["start"]) <= clock < instant(period["end"])
        for period in product["salesPeriods"]
    )


# --- the schema and the generated files --------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(load_schema())


def test_default_file_is_the_generator_output_byte_for_byte() -> None:
    committed = default_dataset_path().read_bytes()
    assert committed == dump(generate("small", 360)).encode("utf-8"), (
        "fixtures/data/default.json is stale: regenerate it with dump(generate('small', 360))"
    )


def test_generate_is_deterministic_and_depends_on_the_seed() -> None:
    first = dump(generate("small", 7))
    assert dump(generate("small", 7)) == first
    assert dump(generate("small", 8)) != first
    assert first != default_dataset_path().read_text(encoding="utf-8")


def test_dump_round_trips_and_ends_with_a_newline(default_doc: Doc) -> None:
    text = dump(default_doc)
    assert text.endswith("}\n")
    assert json.loads(text) == default_doc
    compact = dump(default_doc, compact=True)
    assert "\n" not in compact[:-1]
    assert json.loads(compact) == default_doc


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="huge"):
        generate("huge")


# The table "Size presets of the generator" of docs/datasets.md.
@pytest.mark.parametrize(
    ("size", "venues", "performances_range", "seats_range"),
    [
        ("small", 3, (30, 50), (2_200, 3_000)),
        ("medium", 10, (170, 230), (50_000, 70_000)),
    ],
)
def test_size_presets_meet_the_documented_table(
    size: str,
    venues: int,
    performances_range: tuple[int, int],
    seats_range: tuple[int, int],
) -> None:
    doc = generate(size, 360)
    assert validate_dataset(doc) == []
    venue_count, performance_count, seat_count = counts(doc)
    assert venue_count == venues == SIZES[size].venues
    assert performances_range[0] <= performance_count <= performances_range[1]
    assert seats_range[0] <= seat_count <= seats_range[1]


@pytest.mark.slow
def test_large_preset_meets_the_documented_minimums() -> None:
    doc = generate("large", 360)
    assert validate_dataset(doc) == []
    venue_count, performance_count, seat_count = counts(doc)
    assert venue_count >= 50
    assert performance_count >= 1_000
    assert seat_count >= 1_000_000
    assert "\n" not in dump(doc)[:-1]  # compact


@pytest.mark.parametrize("size", ["small", "medium"])
@pytest.mark.parametrize("seed", [1, 2024])
def test_every_size_and_seed_is_valid(size: str, seed: int) -> None:
    assert validate_dataset(generate(size, seed)) == []


# --- the special cases of the default dataset --------------------------------------------


def test_default_institution_and_clock(default_doc: Doc) -> None:
    institution = default_doc["institution"]
    assert institution["code"] == "DEMO"
    assert institution["currencyCode"] == "EUR"
    assert institution["timeZone"] == "Europe/Zurich"
    assert institution["locales"] == ["en", "fr", "de"]
    assert default_doc["clockStart"] == "2026-09-01T08:00:00Z"
    assert instant(default_doc["setupLastUpdate"]) < instant(default_doc["clockStart"])
    kinds = {tariff["kind"] for tariff in default_doc["audienceSubCategories"]}
    assert kinds == {"FULL", "REDUCED", "FREE"}
    assert 1 <= len(default_doc["priceLevels"]) <= 2
    criteria = {c["code"]: c["type"] for c in default_doc["contactCriteria"]}
    assert criteria["NEWSLETTER"] == "BOOLEAN"
    assert criteria["FAV_GENRE"] == "CHOICE"
    assert default_doc["contacts"]


def test_default_partners(default_doc: Doc) -> None:
    first_two = default_doc["partners"][:2]
    assert [(p["id"], p["operatorCode"], p["password"]) for p in first_two] == [
        (1, "PARTNER1", "partner1-secret"),
        (2, "PARTNER2", "partner2-secret"),
    ]
    points = {pos["id"]: pos for pos in default_doc["pointsOfSales"]}
    methods = {m["id"]: m for m in default_doc["paymentMethods"]}
    assert first_two[0]["pointOfSalesId"] != first_two[1]["pointOfSalesId"]
    running = [p for p in default_doc["products"] if p["state"] == "RUNNING" and p["id"] != 8002]
    assert len(running) >= 3
    for partner in first_two:
        pos = points[partner["pointOfSalesId"]]
        assert pos["maxSeatsPerPerformance"] == 10
        assert pos["orderAbandonDelayMinutes"] == 15
        pending = [
            i for i in pos["paymentMethodIds"] if methods[i]["paymentType"] == "PENDING_ACCOUNT"
        ]
        assert len(pending) == 1
        for product in running:
            assert on_sale_at_clock_start(default_doc, product, pos["salesChannelId"])
            assert {p["state"] for p in product["event"]["performances"]} == {"RUNNING"}


def test_default_venues(default_doc: Doc) -> None:
    venues = {venue["id"]: venue for venue in default_doc["venues"]}
    assert len(venues) == 3
    hall = venues[3001]
    assert all(area["numbered"] for area in hall["areas"])
    assert sum(venue_capacity(hall).values()) >= 500
    assert 2 <= len(hall["seatCategories"]) <= 3
    assert len(hall["areas"]) >= 2
    assert sum(len(area["blocks"]) for area in hall["areas"]) >= 3
    standing = [area for area in venues[3002]["areas"] if area["numbered"] is False]
    assert [area["id"] for area in standing] == [5004]
    assert standing[0]["capacity"] > 0


def test_default_nearly_sold_out_performance(default_doc: Doc) -> None:
    product, performance = find_performance(default_doc, generator.NEARLY_SOLD_OUT_PERFORMANCE_ID)
    assert product["id"] == generator.SPECIAL_PRODUCT_ID
    assert product["event"]["venueId"] == 3001
    venue = next(v for v in default_doc["venues"] if v["id"] == 3001)
    capacity = venue_capacity(venue)
    left = remaining(default_doc, product, performance)
    assert {sale["seatCategoryId"] for sale in performance["boxOfficeSales"]} == set(capacity)
    assert all(seats > 0 for seats in left.values())
    assert 0 < sum(left.values()) <= product["alertRatio"] * sum(capacity.values())
    for category_id, seats in left.items():
        assert seats <= product["alertRatio"] * capacity[category_id]


def test_default_sold_out_performance(default_doc: Doc) -> None:
    product, performance = find_performance(default_doc, generator.SOLD_OUT_PERFORMANCE_ID)
    assert product["id"] == generator.SPECIAL_PRODUCT_ID
    left = remaining(default_doc, product, performance)
    assert left and all(seats == 0 for seats in left.values())


def test_default_other_performances_are_future_and_not_limited(default_doc: Doc) -> None:
    clock = instant(default_doc["clockStart"])
    special = {generator.NEARLY_SOLD_OUT_PERFORMANCE_ID, generator.SOLD_OUT_PERFORMANCE_ID}
    _, untouched = find_performance(default_doc, generator.FULLY_AVAILABLE_PERFORMANCE_ID)
    assert "boxOfficeSales" not in untouched
    _, lightly = find_performance(default_doc, generator.LIGHTLY_SOLD_PERFORMANCE_ID)
    assert lightly["boxOfficeSales"]
    for product, performance in performances(default_doc):
        start = instant(performance["start"])
        assert clock + timedelta(days=3) < start < clock + timedelta(days=160)
        if performance["id"] in special:
            continue
        venue = next(v for v in default_doc["venues"] if v["id"] == product["event"]["venueId"])
        capacity = venue_capacity(venue)
        left = remaining(default_doc, product, performance)
        assert sum(left.values()) > product["alertRatio"] * sum(capacity.values())


def test_default_product_outside_sales_period(default_doc: Doc) -> None:
    product = find_product(default_doc, generator.FUTURE_SALES_PRODUCT_ID)
    clock = instant(default_doc["clockStart"])
    assert product["state"] == "RUNNING"
    assert len(product["salesPeriods"]) == 1
    period = product["salesPeriods"][0]
    assert instant(period["start"]) == clock + timedelta(days=30)
    for performance in product["event"]["performances"]:
        assert performance["state"] == "RUNNING"
        assert instant(performance["start"]) > instant(period["start"])


def test_default_suspended_and_preparing_products(default_doc: Doc) -> None:
    suspended = find_product(default_doc, generator.SUSPENDED_PRODUCT_ID)
    assert suspended["state"] == "SUSPENDED"
    preparing = find_product(default_doc, generator.PREPARING_PRODUCT_ID)
    assert preparing["state"] == "PREPARING"
    states = [product["state"] for product in default_doc["products"]]
    assert states.count("SUSPENDED") == 1
    assert states.count("PREPARING") == 1
    standing = find_product(default_doc, generator.STANDING_PRODUCT_ID)
    assert standing["state"] == "RUNNING"
    assert standing["event"]["venueId"] == 3002
    assert on_sale_at_clock_start(default_doc, standing, generator.PARTNERS_CHANNEL_ID)
    for product in default_doc["products"]:
        assert product["familyType"] == "SINGLE_ENTRY"
        assert 2 <= len(product["event"]["performances"]) <= 10


# --- invalid datasets ----------------------------------------------------------------------


def _set(path: list[str | int], value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _delete(path: list[str | int]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def _second_pending_method(doc: Doc) -> None:
    doc["paymentMethods"][1]["paymentType"] = "PENDING_ACCOUNT"  # 502, used by POS 2001


def _overlapping_rows(doc: Doc) -> None:
    rows = doc["venues"][2]["areas"][0]["blocks"][0]["rows"]
    rows[1]["firstSeatId"] = rows[0]["firstSeatId"] + 1


def _duplicate_price(doc: Doc) -> None:
    prices = doc["products"][0]["event"]["prices"]
    prices.append(dict(prices[0], amount=1000))


def _too_many_box_office_sales(doc: Doc) -> None:
    sales = doc["products"][0]["event"]["performances"][1]["boxOfficeSales"]
    sales[0]["quantity"] += 1


def _unknown_contact_criterion(doc: Doc) -> None:
    doc["contacts"][0]["criteria"].append({"code": "SHOE_SIZE", "value": "42"})


PRODUCT0 = "$.products[0]"
EVENT0 = f"{PRODUCT0}.event"
INVALID_CASES = [
    pytest.param(
        _set(["venues", 0, "id"], "3001"), "$.venues[0].id", "is not of type 'integer'",
        id="wrong-type",
    ),
    pytest.param(
        _delete(["partners", 1, "password"]), "$.partners[1]", "'password' is a required property",
        id="missing-field",
    ),
    pytest.param(
        _set(["partners", 1, "password"], ""), "$.partners[1].password", "'' is too short",
        id="empty-password",
    ),
    pytest.param(
        _set(["products", 0, "state"], "ON_SALE"), f"{PRODUCT0}.state", "is not one of",
        id="bad-enum",
    ),
    pytest.param(
        _set(["products", 0, "extra"], 1), PRODUCT0, "Additional properties are not allowed",
        id="unknown-property",
    ),
    pytest.param(
        _set(["products", 0, "name", "english"], "x"), f"{PRODUCT0}.name", "does not match",
        id="bad-locale",
    ),
    pytest.param(
        _delete(["venues", 1, "areas", 0, "capacity"]), "$.venues[1].areas[0]",
        "'capacity' is a required property", id="standing-area-without-capacity",
    ),
    pytest.param(
        _set(["products", 0, "event", "performances", 0, "start"], "2026-09-15 17:30"),
        f"{EVENT0}.performances[0].start", "is not a date-time with a zone", id="bad-date-time",
    ),
    pytest.param(
        _set(["products", 0, "event", "performances", 0, "start"], "2026-09-15T17:30:00"),
        f"{EVENT0}.performances[0].start", "is not a date-time with a zone", id="no-zone",
    ),
    pytest.param(
        _set(["products", 0, "event", "performances", 0, "start"], "2026-02-30T17:30:00Z"),
        f"{EVENT0}.performances[0].start", "is not a valid date-time", id="impossible-date",
    ),
    pytest.param(
        _set(["products", 0, "alertRatio"], 1.5), f"{PRODUCT0}.alertRatio", "greater than",
        id="ratio-out-of-range",
    ),
    pytest.param(
        _set(["products", 0, "event", "prices", 3, "seatCategoryId"], 4099),
        f"{EVENT0}.prices[3].seatCategoryId",
        "seat category 4099 is not a category of venue 3001", id="unknown-seat-category",
    ),
    pytest.param(
        _set(["products", 0, "event", "prices", 3, "seatCategoryId"], 4006),
        f"{EVENT0}.prices[3].seatCategoryId",
        "seat category 4006 is not a category of venue 3001", id="category-of-another-venue",
    ),
    pytest.param(
        _set(["products", 0, "event", "prices", 0, "audienceSubCategoryId"], 199),
        f"{EVENT0}.prices[0].audienceSubCategoryId", "audience sub-category 199 does not exist",
        id="unknown-tariff",
    ),
    pytest.param(
        _duplicate_price, f"{EVENT0}.prices[6]", "duplicate price", id="duplicate-price",
    ),
    pytest.param(
        _overlapping_rows, "$.venues[2].areas[0].blocks[0].rows[1].firstSeatId",
        "of $.venues[2].areas[0].blocks[0].rows[0].firstSeatId", id="overlapping-seats",
    ),
    pytest.param(
        _second_pending_method, "$.pointsOfSales[0].paymentMethodIds",
        "exactly one payment method of type PENDING_ACCOUNT", id="two-pending-methods",
    ),
    pytest.param(
        _set(["pointsOfSales", 1, "paymentMethodIds"], [503]),
        "$.pointsOfSales[1].paymentMethodIds", "(found: none)", id="no-pending-method",
    ),
    pytest.param(
        _set(["products", 3, "id"], 8001), "$.products[3].id",
        "duplicate product id 8001 (already used at $.products[0].id)", id="duplicate-product-id",
    ),
    pytest.param(
        _set(["venues", 2, "seatCategories", 0, "id"], 4001), "$.venues[2].seatCategories[0].id",
        "duplicate seat category id 4001", id="duplicate-seat-category-across-venues",
    ),
    pytest.param(
        _set(["partners", 1, "operatorCode"], "PARTNER1"), "$.partners[1].operatorCode",
        "DEMO_PARTNER1", id="duplicate-login",
    ),
    pytest.param(
        _set(["partners", 0, "pointOfSalesId"], 2999), "$.partners[0].pointOfSalesId",
        "point of sales 2999 does not exist", id="unknown-point-of-sales",
    ),
    pytest.param(
        _set(["products", 0, "event", "venueId"], 3999), f"{EVENT0}.venueId",
        "venue 3999 does not exist", id="unknown-venue",
    ),
    pytest.param(
        _set(["seasons", 0, "end"], "2026-01-01T00:00:00Z"), "$.seasons[0].end",
        "is not after start", id="season-ends-before-start",
    ),
    pytest.param(
        _set(["products", 0, "salesPeriods", 0, "end"], "2026-07-01T00:00:00Z"),
        f"{PRODUCT0}.salesPeriods[0].end", "is not after start", id="period-ends-before-start",
    ),
    pytest.param(
        _too_many_box_office_sales, f"{EVENT0}.performances[1].boxOfficeSales[0].quantity",
        "more than its capacity", id="box-office-over-capacity",
    ),
    pytest.param(
        _set(["venues", 0, "areas", 0, "blocks", 0, "rows", 1, "code"], "A"),
        "$.venues[0].areas[0].blocks[0].rows[1].code", "row code 'A' is already used",
        id="duplicate-row-code",
    ),
    pytest.param(
        _set(["products", 0, "familyType"], "PASS"), f"{PRODUCT0}.familyType",
        "family type PASS is not simulated yet; use SINGLE_ENTRY", id="family-type",
    ),
    pytest.param(
        _delete(["contactCriteria", 1, "values"]), "$.contactCriteria[1]",
        "'values' is a required property", id="choice-without-values",
    ),
    pytest.param(
        _unknown_contact_criterion, "$.contacts[0].criteria[2].code",
        "contact criterion SHOE_SIZE does not exist", id="unknown-contact-criterion",
    ),
    pytest.param(
        _set(["contacts", 0, "email"], "nobody"), "$.contacts[0].email", "does not match",
        id="email-without-at",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "path", "message"), INVALID_CASES)
def test_invalid_dataset_is_refused_with_path_and_reason(
    doc: Doc, mutate: Callable[[Doc], None], path: str, message: str
) -> None:
    mutate(doc)
    problems = validate_dataset(doc)
    matching = [p for p in problems if p.path == path and message in p.message]
    assert matching, f"expected {path}: …{message}… in {[str(p) for p in problems]}"


def test_every_schema_problem_is_reported_sorted_by_path(doc: Doc) -> None:
    doc["partners"][1]["password"] = ""
    doc["venues"][0]["id"] = "x"
    doc["formatVersion"] = 2
    problems = validate_dataset(doc)
    assert paths(problems) == ["$.formatVersion", "$.partners[1].password", "$.venues[0].id"]
    assert str(problems[1]) == "$.partners[1].password: '' is too short"


def test_every_cross_reference_problem_is_reported(doc: Doc) -> None:
    doc["products"][0]["event"]["prices"][3]["seatCategoryId"] = 4099
    doc["products"][3]["id"] = 8001
    doc["partners"][0]["pointOfSalesId"] = 2999
    assert set(paths(validate_dataset(doc))) == {
        "$.products[0].event.prices[3].seatCategoryId",
        "$.products[3].id",
        "$.partners[0].pointOfSalesId",
    }


def test_cross_reference_checks_wait_for_a_schema_valid_document(doc: Doc) -> None:
    doc["products"][3]["id"] = 8001  # a cross-reference problem, hidden by ...
    doc["venues"][0]["code"] = "lower case"  # ... a schema problem
    assert paths(validate_dataset(doc)) == ["$.venues[0].code"]


def test_overlap_of_a_shifted_venue_is_summarised(doc: Doc) -> None:
    doc["venues"][1]["areas"][0]["firstSeatId"] = 100_005  # standing area over the whole hall
    problems = validate_dataset(doc)
    assert problems[0].path == "$.venues[1].areas[0].firstSeatId"
    assert "$.venues[0].areas[0].blocks[0].rows[0].firstSeatId" in problems[0].message
    assert len(problems) <= 7
    assert "more seat ranges overlap" in problems[-1].message


def test_not_an_object_is_refused() -> None:
    assert paths(validate_dataset([])) == ["$"]


# --- load_dataset -------------------------------------------------------------------------


def test_load_dataset_reads_the_default() -> None:
    doc = load_dataset(default_dataset_path())
    assert doc["institution"]["code"] == "DEMO"
    assert default_dataset_path() == REPO / "fixtures" / "data" / "default.json"


def test_load_dataset_reports_a_json_syntax_error_with_its_line(tmp_path: pathlib.Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n "formatVersion": 1,\n "name": ,\n}\n', encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_dataset(broken)
    assert len(caught.value.problems) == 1
    assert "line 3" in str(caught.value)
    assert str(caught.value).startswith("1 problem\n  $: invalid JSON at line 3")
    assert caught.value.source == str(broken)


def test_load_dataset_lists_every_problem_one_per_line(tmp_path: pathlib.Path, doc: Doc) -> None:
    doc["products"][0]["event"]["prices"][3]["seatCategoryId"] = 4099
    doc["products"][3]["id"] = 8001
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_dataset(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == "2 problems"
    assert lines[1:] == [f"  {problem}" for problem in caught.value.problems]
    assert isinstance(caught.value, Exception)


def test_load_dataset_refuses_nan(tmp_path: pathlib.Path, doc: Doc) -> None:
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(doc).replace('"alertRatio": 0.1', '"alertRatio": NaN', 1))
    with pytest.raises(DatasetError, match="NaN"):
        load_dataset(path)


# --- boundaries -----------------------------------------------------------------------------


def test_nothing_under_mock_server_imports_faker() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "mock_server").rglob("*.py")
        if "import faker" in (text := path.read_text(encoding="utf-8")) or "from faker" in text
    ]
    assert offenders == []
