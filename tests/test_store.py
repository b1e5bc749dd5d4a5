"""The store: invariants as constraints, dataset loading, persistence."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fixtures.validate import DatasetError, default_dataset_path
from mock_server.simulator import Simulator, SimulatorConfig
from mock_server.store import StoreError
from mock_server.store import schema as s

DATASET = json.loads(default_dataset_path().read_text())


@pytest.fixture(scope="module")
def sim():
    simulator = Simulator()
    yield simulator
    simulator.close()


def test_counts_match_the_dataset(sim):
    expected_seats = sum(
        sum(r["seats"] for b in a["blocks"] for r in b["rows"])
        if a.get("numbered", True)
        else a["capacity"]
        for v in DATASET["venues"]
        for a in v["areas"]
    )
    with sim.store.read() as conn:
        assert len(conn.execute(select(s.seat.c.id)).all()) == expected_seats
        assert len(conn.execute(select(s.performance.c.id)).all()) == sum(
            len(p["event"]["performances"]) for p in DATASET["products"]
        )
        sold = conn.execute(select(s.movement.c.id).where(s.movement.c.state == "SOLD")).all()
    assert len(sold) == sum(
        x["quantity"]
        for p in DATASET["products"]
        for pf in p["event"]["performances"]
        for x in pf.get("boxOfficeSales", [])
    )


def test_one_live_assignment_per_seat_and_performance_is_a_constraint(sim):
    with sim.store.read() as conn:
        live = conn.execute(select(s.movement).where(s.movement.c.state == "SOLD").limit(1)).one()
    row = {k: v for k, v in live._mapping.items() if k != "id"}
    with pytest.raises(IntegrityError), sim.store.transaction() as conn:
        conn.execute(s.movement.insert().values(**row))
    # a released assignment of the same seat is allowed (history)
    with sim.store.transaction() as conn:
        conn.execute(s.movement.insert().values(**(row | {"state": "RELEASED"})))


@pytest.mark.parametrize(
    "table, values",
    [
        (
            s.movement,
            {
                "order_id": 1,
                "performance_id": 424242,
                "seat_id": 1,
                "seat_category_id": 1,
                "state": "SOLD",
                "created_ms": 0,
                "updated_ms": 0,
            },
        ),
        (
            s.price,
            {
                "event_id": 8501,
                "seat_category_id": 4001,
                "audience_sub_category_id": 101,
                "price_level_id": 1,
                "amount": -5,
            },
        ),
        (
            s.product,
            {
                "id": 1,
                "season_id": 7001,
                "code": "X",
                "state": "PLAYING",
                "family_type": "SINGLE_ENTRY",
                "name": {},
                "description": {},
                "min_quantity": 1,
                "alert_ratio": 0.1,
            },
        ),
        (
            s.partner,
            {
                "id": 99,
                "login": "DEMO_PARTNER1",
                "operator_code": "Z",
                "password": "x",
                "name": "dup",
                "point_of_sales_id": 2001,
            },
        ),
    ],
)
def test_schema_refuses_broken_rows(sim, table, values):
    with pytest.raises(IntegrityError), sim.store.transaction() as conn:
        conn.execute(table.insert().values(**values))


def test_invalid_dataset_is_refused_and_nothing_is_loaded(tmp_path):
    broken = copy.deepcopy(DATASET)
    broken["products"][0]["event"]["prices"][0]["seatCategoryId"] = 4999
    del broken["institution"]["currencyCode"]
    state = tmp_path / "state.db"
    with pytest.raises(DatasetError) as info:
        path = tmp_path / "broken.json"
        path.write_text(json.dumps(broken))
        Simulator(SimulatorConfig(dataset=path, state_url=f"sqlite:///{state}"))
    text = str(info.value)
    assert "$.institution" in text and "currencyCode" in text
    assert not state.exists()


def test_state_file_survives_a_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = Simulator(SimulatorConfig(state_url=url))
    first.clock.advance(3600)
    with first.store.transaction() as conn:
        conn.execute(
            s.contact.insert().values(first_name="Keep", last_name="Me", created_ms=0, updated_ms=0)
        )
    moved = first.clock.now()
    first.close()
    second = Simulator(SimulatorConfig(state_url=url))
    with second.store.read() as conn:
        assert conn.execute(
            select(s.contact.c.contact_number).where(s.contact.c.first_name == "Keep")
        ).first()
    assert second.clock.now() >= moved
    second.close()
    third = Simulator(SimulatorConfig(state_url=url, reset_state=True))
    with third.store.read() as conn:
        assert (
            conn.execute(
                select(s.contact.c.contact_number).where(s.contact.c.first_name == "Keep")
            ).first()
            is None
        )
    third.close()


def test_state_file_of_another_dataset_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Simulator(SimulatorConfig(state_url=url)).close()
    other = copy.deepcopy(DATASET)
    other["name"] = "other"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    with pytest.raises(StoreError, match="--reset-state"):
        Simulator(SimulatorConfig(dataset=path, state_url=url))


def test_unsupported_state_url():
    with pytest.raises(StoreError, match="unsupported state URL"):
        Simulator(SimulatorConfig(state_url="postgresql://localhost/s360"))
