"""Material used on interventions, through the real HTTP server: costs, the two ledger
rows, the consumption of an intervention and of a task, the technician's scope, and
twenty technicians' sessions racing for a stock that covers ten."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

from rpma.client import IpcClient, IpcError
from rpma.core.clock import clock
from rpma.core.events import Event
from tests.conftest import USER_PASSWORD, make_user
from tests.domains.test_interventions import Shop, frozen, me, new_task, shop, start
from tests.domains.test_materials import balance_and_ledger, events, ledger, material
from tests.helpers import count

__all__ = ["events", "frozen", "shop"]


def running(
    shop: Shop, client: IpcClient | None = None, assignee: str | None = None
) -> dict[str, Any]:
    """A started intervention (``{intervention, steps}``) on a task of the technician."""
    task = new_task(shop, assignee)
    return start(client or shop.technician, task["id"])


def test_consumption_costs_and_moves_used_plus_waste(shop: Shop, events: list[Event]) -> None:
    film = material(shop.admin, current_stock=30)
    work = running(shop)
    intervention, step = work["intervention"], work["steps"][0]
    used = shop.technician.materials.record_consumption(
        intervention["id"],
        film["id"],
        2.345,
        step_id=step["id"],
        waste_quantity=0.5,
        waste_reason="cut too short",
        quality_notes="no bubbles",
    )
    assert used["intervention_id"] == intervention["id"]
    assert used["task_id"] == intervention["task_id"]
    assert used["step_id"] == step["id"]
    assert used["quantity_used"] == 2.345
    assert used["waste_quantity"] == 0.5
    assert used["unit_cost"] == 42.25
    assert used["total_cost"] == 99.08  # 42.25 x 2.345 = 99.07625, half up to the cent
    assert used["currency"] == "USD"
    assert used["recorded_by"] == shop.tech_id
    assert used["material_sku"] == "XP-ULTIMATE-60"
    assert ledger(shop.server, film["id"]) == [
        ("stock_in", 30_000, 0, 30_000),
        ("stock_out", -2_345, 30_000, 27_655),
        ("waste", -500, 27_655, 27_155),
    ]
    assert balance_and_ledger(shop.server, film["id"]) == (27_155, 27_155)
    rows = shop.viewer.materials.list_transactions(material_id=film["id"])["transactions"]
    assert rows[0]["transaction_type"] == "waste"
    assert rows[0]["reason"] == "cut too short"
    assert rows[1]["reference_type"] == "intervention"
    assert rows[1]["reference_id"] == intervention["id"]
    assert rows[1]["consumption_id"] == used["id"]
    assert events[-1].data["change"] == "consumed"
    assert events[-1].data["current_stock"] == 27.155
    assert events[-1].data["intervention_id"] == intervention["id"]


def test_consumption_of_an_intervention_and_of_a_task(shop: Shop) -> None:
    film = material(shop.admin, current_stock=30)
    glue = material(
        shop.admin,
        sku="GLUE",
        name="Glue",
        material_type="adhesive",
        unit_cost=7.5,
        currency="USD",
        current_stock=10,
    )
    work = running(shop)
    first = work["intervention"]
    shop.technician.materials.record_consumption(first["id"], film["id"], 2)
    clock.advance(timedelta(seconds=1))
    shop.technician.materials.record_consumption(first["id"], film["id"], 1.5, waste_quantity=1)
    clock.advance(timedelta(seconds=1))
    shop.supervisor.materials.record_consumption(first["id"], glue["id"], 0.25)
    report = shop.viewer.materials.get_consumption(intervention_id=first["id"])
    assert [c["total_cost"] for c in report["consumptions"]] == [84.5, 63.38, 1.88]
    assert report["total_cost"] == 149.76
    assert report["currency"] == "USD"
    assert report["by_material"] == [
        {
            "material_id": film["id"],
            "material_sku": "XP-ULTIMATE-60",
            "material_name": "XPEL Ultimate Plus 60in",
            "unit_of_measure": "meter",
            "quantity_used": 3.5,
            "waste_quantity": 1,
            "total_cost": 147.88,
        },
        {
            "material_id": glue["id"],
            "material_sku": "GLUE",
            "material_name": "Glue",
            "unit_of_measure": "meter",
            "quantity_used": 0.25,
            "waste_quantity": 0,
            "total_cost": 1.88,
        },
    ]
    by_task = shop.viewer.materials.get_consumption(task_id=first["task_id"])
    assert by_task == report
    other = running(shop)
    assert shop.viewer.materials.get_consumption(intervention_id=other["intervention"]["id"]) == {
        "consumptions": [],
        "by_material": [],
        "total_cost": 0,
        "currency": None,
    }


def test_a_paused_intervention_still_takes_material(shop: Shop) -> None:
    film = material(shop.admin, current_stock=5)
    work = running(shop)
    shop.technician.interventions.pause(work["intervention"]["id"], "lunch")
    used = shop.technician.materials.record_consumption(work["intervention"]["id"], film["id"], 1)
    assert used["quantity_used"] == 1


def test_twenty_simultaneous_consumptions_against_a_stock_of_ten(shop: Shop) -> None:
    """Each thread its own HTTP client and session; exactly ten win, on both databases."""
    fitter = "fitter@shop.example"
    make_user(shop.admin, shop.server, "technician", fitter).close()
    film = material(shop.admin, current_stock=10, unit_cost=10)
    clients = []
    for _ in range(20):
        client = shop.server.client()
        client.auth.login(fitter, USER_PASSWORD)
        clients.append(client)
    fitter_id = me(clients[0])
    work = running(shop, clients[0], assignee=fitter_id)
    intervention_id = work["intervention"]["id"]
    gate = threading.Barrier(len(clients))
    outcomes: list[str] = []
    lock = threading.Lock()

    def consume(client: IpcClient) -> None:
        gate.wait()
        try:
            client.materials.record_consumption(intervention_id, film["id"], 1)
            outcome = "ok"
        except IpcError as error:
            outcome = error.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=consume, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for client in clients:
        client.close()
    assert sorted(outcomes) == ["VALIDATION_INSUFFICIENT_STOCK"] * 10 + ["ok"] * 10
    assert balance_and_ledger(shop.server, film["id"]) == (0, 0)  # 10 - 10 x 1
    assert count(shop.server.services, "material_consumptions") == 10
    rows = ledger(shop.server, film["id"])
    assert len(rows) == 11
    # Every row continues from the one before: no two winners saw the same balance.
    for before, after in itertools.pairwise(rows):
        assert after[2] == before[3]
    report = shop.viewer.materials.get_consumption(intervention_id=intervention_id)
    assert report["total_cost"] == 100
