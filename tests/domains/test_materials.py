"""Materials through the real HTTP server: the catalogue (create, get, list, update,
deactivate), manual stock movements and the ledger behind them, the figures (stats, low
stock, expired) and the events. Consumption lives in test_materials_consumption.py, the
refusals in test_materials_refusals.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.events import Event
from rpma.domains.materials.models import Material, MaterialTransaction
from tests.conftest import LiveServer
from tests.domains.test_interventions import NOW_MS, Shop, frozen, shop

__all__ = ["frozen", "shop"]  # fixtures shared with the other materials tests

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
FILM: dict[str, Any] = {
    "sku": "xp-ultimate-60",
    "name": "XPEL Ultimate Plus 60in",
    "material_type": "ppf_film",
    "category": "film",
    "brand": "XPEL",
    "unit_of_measure": "meter",
    "current_stock": 30.5,
    "minimum_stock": 5,
    "reorder_point": 10,
    "unit_cost": 42.25,
    "currency": "usd",
}


@pytest.fixture
def events(server: LiveServer) -> Iterator[list[Event]]:
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    yield seen
    unsubscribe()


def material(client: IpcClient, **overrides: Any) -> dict[str, Any]:
    return dict(client.materials.create({**FILM, **overrides}))


def ledger(server: LiveServer, material_id: str) -> list[tuple[str, int, int, int]]:
    """(type, quantity, previous, new) in thousandths, oldest first."""
    with server.services.db.engine.connect() as conn:
        rows = conn.execute(
            select(
                MaterialTransaction.transaction_type,
                MaterialTransaction.quantity_milli,
                MaterialTransaction.previous_stock_milli,
                MaterialTransaction.new_stock_milli,
            )
            .where(MaterialTransaction.material_id == material_id)
            .order_by(MaterialTransaction.sequence)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def balance_and_ledger(server: LiveServer, material_id: str) -> tuple[int, int]:
    """The balance on the material and the sum of its ledger, in thousandths."""
    with server.services.db.engine.connect() as conn:
        balance = conn.scalar(
            select(Material.current_stock_milli).where(Material.id == material_id)
        )
        total = conn.scalar(
            select(func.coalesce(func.sum(MaterialTransaction.quantity_milli), 0)).where(
                MaterialTransaction.material_id == material_id
            )
        )
    return int(balance or 0), int(total or 0)


# The catalogue ---------------------------------------------------------------------------------
def test_create_answers_the_material_and_writes_the_opening_stock(
    shop: Shop, events: list[Event]
) -> None:
    row = material(shop.supervisor, serial_numbers=["R-1", "R-2"], expiry_date=NOW_MS + DAY_MS)
    assert row["sku"] == "XP-ULTIMATE-60"
    assert row["current_stock"] == 30.5
    assert row["minimum_stock"] == 5
    assert row["reorder_point"] == 10
    assert row["maximum_stock"] is None
    assert row["unit_cost"] == 42.25
    assert row["currency"] == "USD"
    assert row["stock_value"] == 1288.63  # 30.5 x 42.25 = 1288.625, half up
    assert row["serial_numbers"] == ["R-1", "R-2"]
    assert row["is_active"] is True
    assert row["is_discontinued"] is False
    assert row["is_low_stock"] is False
    assert row["is_expired"] is False
    assert row["version"] == 2  # created, then the opening stock through the ledger
    assert row["created_at"] == NOW_MS
    assert ledger(shop.server, row["id"]) == [("stock_in", 30_500, 0, 30_500)]
    assert balance_and_ledger(shop.server, row["id"]) == (30_500, 30_500)
    assert shop.viewer.materials.get(row["id"]) == row
    assert [e.type for e in events] == ["material_updated"]
    assert events[0].data["change"] == "created"
    assert events[0].data["current_stock"] == 30.5


def test_defaults_and_no_opening_stock(shop: Shop) -> None:
    row = shop.admin.materials.create(
        {
            "sku": "GLOVES",
            "name": "Nitrile gloves",
            "material_type": "consumable",
            "current_stock": 0,
        }
    )
    assert row["unit_of_measure"] == "piece"
    assert row["currency"] == "EUR"
    assert row["minimum_stock"] == 0
    assert row["unit_cost"] is None
    assert row["stock_value"] == 0
    assert row["is_low_stock"] is True  # 0 <= minimum 0
    assert ledger(shop.server, row["id"]) == []


def test_get_unknown_is_null(shop: Shop) -> None:
    assert shop.technician.materials.get("00000000-0000-0000-0000-000000000000") is None


def test_list_filters_and_pages(shop: Shop) -> None:
    film = material(shop.admin)
    glue = material(
        shop.admin, sku="GLUE", name="Adhesive gel", material_type="adhesive", category="chemicals"
    )
    soap = material(
        shop.admin,
        sku="SOAP",
        name="Slip solution",
        material_type="cleaning_solution",
        category="chemicals",
    )
    shop.admin.materials.deactivate(soap["id"])
    listed = shop.viewer.materials.list()
    assert listed["total"] == 2
    assert [m["sku"] for m in listed["materials"]] == ["GLUE", "XP-ULTIMATE-60"]  # by name
    every = shop.viewer.materials.list(active_only=False)
    assert every["total"] == 3
    chemicals = shop.viewer.materials.list(category="chemicals", active_only=False)
    assert {m["id"] for m in chemicals["materials"]} == {glue["id"], soap["id"]}
    films = shop.viewer.materials.list(material_type="ppf_film")
    assert [m["id"] for m in films["materials"]] == [film["id"]]
    page = shop.viewer.materials.list(active_only=False, limit=1, offset=1)
    assert page["total"] == 3
    assert [m["sku"] for m in page["materials"]] == ["SOAP"]


def test_update_changes_details_but_not_the_stock(shop: Shop, events: list[Event]) -> None:
    row = material(shop.admin)
    clock.advance(timedelta(seconds=60))
    updated = shop.supervisor.materials.update(
        row["id"],
        {
            "name": "Ultimate Plus 60",
            "unit_cost": 40,
            "reorder_point": None,
            "sku": "UP-60",
            "is_discontinued": True,
        },
        expected_version=row["version"],
    )
    assert updated["name"] == "Ultimate Plus 60"
    assert updated["sku"] == "UP-60"
    assert updated["unit_cost"] == 40
    assert updated["reorder_point"] is None
    assert updated["is_discontinued"] is True
    assert updated["current_stock"] == 30.5
    assert updated["version"] == row["version"] + 1
    assert updated["updated_at"] == NOW_MS + 60_000
    assert events[-1].data["change"] == "updated"
    assert events[-1].data["fields"] == [
        "is_discontinued",
        "name",
        "reorder_point_milli",
        "sku",
        "unit_cost_cents",
    ]
    same = shop.supervisor.materials.update(row["id"], {"name": "Ultimate Plus 60"})
    assert same["version"] == updated["version"]  # nothing changed, nothing bumped


def test_deactivate_keeps_the_ledger(shop: Shop) -> None:
    row = material(shop.admin)
    gone = shop.admin.materials.deactivate(row["id"], reason="replaced by a new film")
    assert gone["is_active"] is False
    again = shop.admin.materials.deactivate(row["id"])
    assert again["version"] == gone["version"]
    assert ledger(shop.server, row["id"]) == [("stock_in", 30_500, 0, 30_500)]
    back = shop.admin.materials.update(row["id"], {"is_active": True})
    assert back["is_active"] is True


# Stock ------------------------------------------------------------------------------------------
def test_add_subtract_set_write_the_ledger(shop: Shop, events: list[Event]) -> None:
    row = material(shop.admin, current_stock=10)
    added = shop.supervisor.materials.update_stock(row["id"], 2.125, "add", reason="delivery")
    assert added["current_stock"] == 12.125
    taken = shop.supervisor.materials.update_stock(row["id"], 0.125, "subtract")
    assert taken["current_stock"] == 12
    wasted = shop.admin.materials.update_stock(
        row["id"], 1, "subtract", transaction_type="waste", reason="creased"
    )
    assert wasted["current_stock"] == 11
    returned = shop.admin.materials.update_stock(
        row["id"], 0.5, "add", transaction_type="return", reference="job 42"
    )
    assert returned["current_stock"] == 11.5
    counted = shop.admin.materials.update_stock(row["id"], 9.75, "set", reason="inventory")
    assert counted["current_stock"] == 9.75
    unchanged = shop.admin.materials.update_stock(row["id"], 9.75, "set")
    assert unchanged["version"] == counted["version"]
    emptied = shop.admin.materials.update_stock(row["id"], 0, "set")
    assert emptied["current_stock"] == 0
    assert ledger(shop.server, row["id"]) == [
        ("stock_in", 10_000, 0, 10_000),
        ("stock_in", 2_125, 10_000, 12_125),
        ("stock_out", -125, 12_125, 12_000),
        ("waste", -1_000, 12_000, 11_000),
        ("return", 500, 11_000, 11_500),
        ("adjustment", -1_750, 11_500, 9_750),
        ("adjustment", -9_750, 9_750, 0),
    ]
    assert balance_and_ledger(shop.server, row["id"]) == (0, 0)
    assert [e.data["change"] for e in events] == ["created"] + ["stock"] * 6
    assert events[-1].data["low_stock"] is True


def test_tenths_add_up_exactly(shop: Shop) -> None:
    """0.1 ten times is exactly 1: quantities are integers of thousandths inside."""
    row = material(shop.admin, current_stock=0, unit_of_measure="liter")
    for _ in range(10):
        shop.admin.materials.update_stock(row["id"], 0.1, "add")
    assert shop.admin.materials.get(row["id"])["current_stock"] == 1
    assert balance_and_ledger(shop.server, row["id"]) == (1000, 1000)


def test_list_transactions_filters_and_pages(shop: Shop) -> None:
    film = material(shop.admin, current_stock=5)
    glue = material(shop.admin, sku="GLUE", name="Glue", material_type="adhesive", current_stock=1)
    clock.advance(timedelta(seconds=3600))
    shop.admin.materials.update_stock(film["id"], 1, "subtract")
    clock.advance(timedelta(seconds=3600))
    shop.admin.materials.update_stock(glue["id"], 2, "add")
    every = shop.viewer.materials.list_transactions()
    assert every["pagination"] == {"page": 1, "page_size": 20, "total": 4, "total_pages": 1}
    quantities = [t["quantity"] for t in every["transactions"]]
    # Newest first; the two opening stocks share an instant (then by material id).
    assert quantities[:2] == [2, -1]
    assert sorted(quantities[2:]) == [1, 5]
    mine = shop.viewer.materials.list_transactions(material_id=film["id"])
    assert [(t["transaction_type"], t["quantity"]) for t in mine["transactions"]] == [
        ("stock_out", -1),
        ("stock_in", 5),
    ]
    first = mine["transactions"][0]
    assert first["previous_stock"] == 5
    assert first["new_stock"] == 4
    assert first["performed_at"] == NOW_MS + 3_600_000
    assert first["reference_type"] == "manual"
    ins = shop.viewer.materials.list_transactions(transaction_type="stock_in")
    assert ins["pagination"]["total"] == 3
    window = shop.viewer.materials.list_transactions(
        date_from=NOW_MS + 1, date_to=NOW_MS + 3_600_000
    )
    assert [t["quantity"] for t in window["transactions"]] == [-1]
    paged = shop.viewer.materials.list_transactions(pagination={"page": 2, "page_size": 3})
    assert paged["pagination"] == {"page": 2, "page_size": 3, "total": 4, "total_pages": 2}
    assert len(paged["transactions"]) == 1


# Figures ----------------------------------------------------------------------------------------
def test_stats_low_stock_and_expired(shop: Shop) -> None:
    film = material(shop.admin, current_stock=10)  # at its reorder point 10: low
    material(
        shop.admin,
        sku="GLUE",
        name="Glue",
        material_type="adhesive",
        category="chem",
        current_stock=3,
        minimum_stock=2,
        reorder_point=None,
        unit_cost=7.5,
    )
    soap = material(
        shop.admin,
        sku="SOAP",
        name="Soap",
        material_type="cleaning_solution",
        category=None,
        current_stock=1.5,
        minimum_stock=2,
        reorder_point=None,
        unit_cost=3.33,
        expiry_date=NOW_MS + HOUR_MS,
    )
    old = material(
        shop.admin, sku="OLD", name="Old film", current_stock=100, reorder_point=1, unit_cost=1000
    )
    shop.admin.materials.deactivate(old["id"])
    stats = shop.viewer.materials.get_stats()
    assert stats == {
        "total_materials": 3,
        # 10 x 42.25 + 3 x 7.5 + 1.5 x 3.33 (4.995 -> 5.00)
        "total_value": 422.5 + 22.5 + 5.0,
        "low_stock_count": 2,
        "expired_count": 0,
        "by_type": {
            "ppf_film": 1,
            "adhesive": 1,
            "cleaning_solution": 1,
            "tool": 0,
            "consumable": 0,
        },
        "by_category": {"chem": 1, "film": 1, "uncategorized": 1},
    }
    low = shop.viewer.materials.get_low_stock()
    assert [m["sku"] for m in low] == ["SOAP", "XP-ULTIMATE-60"]
    assert shop.viewer.materials.get_expired() == []
    clock.advance(timedelta(hours=1))  # expiry_date <= now: expired
    expired = shop.viewer.materials.get_expired()
    assert [m["id"] for m in expired] == [soap["id"]]
    assert expired[0]["is_expired"] is True
    assert shop.viewer.materials.get_stats()["expired_count"] == 1
    shop.admin.materials.update_stock(film["id"], 0.001, "add")
    assert [m["sku"] for m in shop.viewer.materials.get_low_stock()] == ["SOAP"]
