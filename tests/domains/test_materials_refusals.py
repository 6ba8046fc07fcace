"""Every refusal of the materials commands with its exact code, and nothing changed:
bad numbers (negative, zero, too many decimals, NaN, infinities, 1e999), `set` below
zero, unknown ids, a duplicate SKU, oversized text, the stock field on an update, roles
that may not manage stock, a technician on another's intervention, finished
interventions, unusable material and a stock that does not cover the need."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest

from rpma.client import IpcClient
from tests.conftest import make_user
from tests.domains.test_interventions import NOW_MS, Shop, frozen, me, new_task, shop, start
from tests.domains.test_materials import FILM, balance_and_ledger, material
from tests.helpers import raw, refused, security_events

__all__ = ["frozen", "shop"]
UNKNOWN = "00000000-0000-0000-0000-000000000000"


def call(client: IpcClient, command: str, **args: Any) -> Any:
    return client.call(command, args)


def raw_refused(shop: Shop, command: str, body: bytes, field: str) -> None:
    """A JSON body the SDK could not send (``1e999``, ``NaN``): 400, the field named."""
    from tests.helpers import snapshot

    before = snapshot(shop.server.services)
    token = shop.admin.token
    answer = raw(
        shop.admin,
        command,
        None,
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in json.dumps(error["details"])
    assert snapshot(shop.server.services) == before


# Numbers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {"current_stock": -1},
        {"current_stock": 1.0001},
        {"current_stock": float("inf")},
        {"current_stock": 1e13},
        {"minimum_stock": -0.5},
        {"unit_cost": -1},
        {"unit_cost": 1.005},
        {"unit_cost": float("nan")},
        {"current_stock": "5"},
        {"material_type": "paint"},
        {"unit_of_measure": "bucket"},
        {"currency": "EURO"},
        {"minimum_stock": 10, "maximum_stock": 5},
        {"reorder_point": 20, "maximum_stock": 15},
        {"sku": "   "},
        {"sku": "X" * 65},
        {"name": "N" * 201},
        {"description": "d" * 5001},
        {"serial_numbers": ["s" * 101]},
        {"expiry_date": -1},
    ],
)
def test_create_refuses_bad_fields(shop: Shop, changes: dict[str, Any]) -> None:
    refused(
        shop.server.services,
        lambda: shop.admin.materials.create({**FILM, **changes}),
        "VALIDATION_ERROR",
        400,
    )


def test_non_finite_json_numbers(shop: Shop) -> None:
    row = material(shop.admin)
    body = json.dumps({**FILM, "sku": "NEW"})[:-1]
    raw_refused(
        shop, "material_create", (body + ', "current_stock": 1e999}').encode(), "current_stock"
    )
    raw_refused(
        shop,
        "material_update_stock",
        f'{{"id": "{row["id"]}", "quantity": 1e999, "adjustment_type": "add"}}'.encode(),
        "quantity",
    )
    raw_refused(
        shop,
        "material_update_stock",
        f'{{"id": "{row["id"]}", "quantity": NaN, "adjustment_type": "set"}}'.encode(),
        "quantity",
    )
    raw_refused(
        shop,
        "material_update_stock",
        f'{{"id": "{row["id"]}", "quantity": -Infinity, "adjustment_type": "add"}}'.encode(),
        "quantity",
    )


@pytest.mark.parametrize(
    ("quantity", "kind", "extra"),
    [
        (-1, "add", {}),
        (0, "add", {}),
        (0, "subtract", {}),
        (-0.001, "set", {}),
        (0.0005, "add", {}),
        (2_000_000, "add", {}),
        (1, "multiply", {}),
        (1, "add", {"transaction_type": "waste"}),
        (1, "subtract", {"transaction_type": "return"}),
        (1, "set", {"transaction_type": "stock_in"}),
        (1, "add", {"reason": "r" * 501}),
    ],
)
def test_update_stock_refuses_bad_quantities(
    shop: Shop, quantity: float, kind: str, extra: dict[str, Any]
) -> None:
    row = material(shop.admin)
    refused(
        shop.server.services,
        lambda: shop.admin.materials.update_stock(row["id"], quantity, kind, **extra),
        "VALIDATION_ERROR",
        400,
    )


def test_subtracting_more_than_the_stock(shop: Shop) -> None:
    row = material(shop.admin, current_stock=2)
    error = refused(
        shop.server.services,
        lambda: shop.admin.materials.update_stock(row["id"], 2.001, "subtract"),
        "VALIDATION_INSUFFICIENT_STOCK",
        400,
    )
    assert error.details is not None
    assert error.details["available"] == 2
    assert error.details["requested"] == 2.001
    assert balance_and_ledger(shop.server, row["id"]) == (2000, 2000)


def test_the_largest_balance(shop: Shop) -> None:
    row = material(shop.admin, current_stock=9_999_999)
    refused(
        shop.server.services,
        lambda: shop.admin.materials.update_stock(row["id"], 1.5, "add"),
        "VALIDATION_STOCK_LIMIT",
        400,
    )


def test_unknown_material(shop: Shop) -> None:
    services = shop.server.services
    refused(
        services,
        lambda: shop.admin.materials.update_stock(UNKNOWN, 1, "add"),
        "NOT_FOUND_MATERIAL",
        404,
    )
    refused(
        services,
        lambda: shop.admin.materials.update_stock(UNKNOWN, 1, "set"),
        "NOT_FOUND_MATERIAL",
        404,
    )
    refused(
        services,
        lambda: shop.admin.materials.update(UNKNOWN, {"name": "x"}),
        "NOT_FOUND_MATERIAL",
        404,
    )
    refused(services, lambda: shop.admin.materials.deactivate(UNKNOWN), "NOT_FOUND_MATERIAL", 404)
    refused(
        services,
        lambda: shop.admin.materials.list_transactions(material_id=UNKNOWN),
        "NOT_FOUND_MATERIAL",
        404,
    )


def test_duplicate_sku(shop: Shop) -> None:
    row = material(shop.admin)
    other = material(shop.admin, sku="OTHER")
    services = shop.server.services
    error = refused(
        services,
        lambda: shop.admin.materials.create({**FILM, "sku": "Xp-Ultimate-60"}),
        "VALIDATION_SKU_TAKEN",
        400,
    )
    assert error.details is not None
    assert error.details["material_id"] == row["id"]
    refused(
        services,
        lambda: shop.admin.materials.update(other["id"], {"sku": FILM["sku"]}),
        "VALIDATION_SKU_TAKEN",
        400,
    )


def test_update_refuses_the_stock_nulls_and_stale_versions(shop: Shop) -> None:
    row = material(shop.admin)
    services = shop.server.services
    refused(
        services,
        lambda: shop.admin.materials.update(row["id"], {"current_stock": 99}),
        "VALIDATION_ERROR",
        400,
    )
    refused(
        services,
        lambda: shop.admin.materials.update(row["id"], {"name": None}),
        "VALIDATION_ERROR",
        400,
    )
    refused(
        services,
        lambda: shop.admin.materials.update(row["id"], {"maximum_stock": 1}),
        "VALIDATION_ERROR",
        400,
    )
    refused(
        services,
        lambda: shop.admin.materials.update(row["id"], {"name": "n"}, expected_version=1),
        "CONFLICT",
        409,
    )


def test_bad_queries(shop: Shop) -> None:
    services = shop.server.services
    refused(services, shop.viewer.materials.get_consumption, "VALIDATION_ERROR", 400)
    refused(
        services,
        lambda: shop.viewer.materials.get_consumption(UNKNOWN, UNKNOWN),
        "VALIDATION_ERROR",
        400,
    )
    refused(
        services,
        lambda: shop.viewer.materials.get_consumption(intervention_id=UNKNOWN),
        "NOT_FOUND_INTERVENTION",
        404,
    )
    refused(
        services,
        lambda: shop.viewer.materials.get_consumption(task_id=UNKNOWN),
        "NOT_FOUND_TASK",
        404,
    )
    refused(
        services,
        lambda: shop.viewer.materials.list_transactions(date_from=5, date_to=4),
        "VALIDATION_ERROR",
        400,
    )
    refused(services, lambda: shop.viewer.materials.list(limit=201), "VALIDATION_ERROR", 400)
    refused(services, lambda: shop.viewer.materials.get("x" * 65), "VALIDATION_ERROR", 400)


# Roles ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["technician", "viewer"])
def test_only_staff_manage_materials(shop: Shop, role: str) -> None:
    row = material(shop.admin)
    client: IpcClient = getattr(shop, role)
    services = shop.server.services
    for attempt in (
        lambda: client.materials.create({**FILM, "sku": "MINE"}),
        lambda: client.materials.update(row["id"], {"name": "mine"}),
        lambda: client.materials.deactivate(row["id"]),
        lambda: client.materials.update_stock(row["id"], 1, "add"),
        lambda: client.materials.update_stock(row["id"], 0, "set"),
    ):
        refused(services, attempt, "AUTH_FORBIDDEN", 403)


def test_a_viewer_never_consumes(shop: Shop) -> None:
    row = material(shop.admin)
    work = start(shop.technician, new_task(shop)["id"])
    refused(
        shop.server.services,
        lambda: shop.viewer.materials.record_consumption(work["intervention"]["id"], row["id"], 1),
        "AUTH_FORBIDDEN",
        403,
    )


def test_a_technician_consumes_only_on_their_own_tasks(shop: Shop) -> None:
    row = material(shop.admin)
    colleague = make_user(shop.admin, shop.server, "technician")
    theirs = start(colleague, new_task(shop, me(colleague))["id"])["intervention"]
    denied = ("permission_denied", shop.tech_id)
    before = security_events(shop.server.services).count(denied)
    refused(
        shop.server.services,
        lambda: shop.technician.materials.record_consumption(theirs["id"], row["id"], 1),
        "AUTH_FORBIDDEN",
        403,
    )
    assert security_events(shop.server.services).count(denied) == before + 1
    colleague.close()


# Consumption -------------------------------------------------------------------------------------
def test_consumption_refusals(shop: Shop) -> None:
    services = shop.server.services
    film = material(shop.admin, current_stock=3)
    work = start(shop.technician, new_task(shop)["id"])
    intervention = work["intervention"]
    other_step = start(shop.technician, new_task(shop)["id"])["steps"][0]

    def consume(material_id: str = film["id"], quantity: float = 1, **extra: Any) -> Any:
        return shop.technician.materials.record_consumption(
            intervention["id"], material_id, quantity, **extra
        )

    for quantity in (0, -1, 0.0001, float("inf"), 2_000_000):
        refused(services, partial(consume, quantity=quantity), "VALIDATION_ERROR", 400)
    refused(services, lambda: consume(waste_quantity=-1), "VALIDATION_ERROR", 400)
    refused(services, lambda: consume(quality_notes="q" * 5001), "VALIDATION_ERROR", 400)
    refused(services, lambda: consume(expiry_used=-5), "VALIDATION_ERROR", 400)
    refused(services, lambda: consume(material_id=UNKNOWN), "NOT_FOUND_MATERIAL", 404)
    refused(
        services,
        lambda: shop.technician.materials.record_consumption(UNKNOWN, film["id"], 1),
        "NOT_FOUND_INTERVENTION",
        404,
    )
    refused(services, lambda: consume(step_id=other_step["id"]), "INTERVENTION_STEP_NOT_FOUND", 400)
    refused(
        services,
        lambda: consume(quantity=3, waste_quantity=0.001),
        "VALIDATION_INSUFFICIENT_STOCK",
        400,
    )
    assert balance_and_ledger(shop.server, film["id"]) == (3000, 3000)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"is_discontinued": True}, "discontinued"),
        ({"is_active": False}, "inactive"),
        ({"expiry_date": NOW_MS}, "expired"),  # expiry_date <= now
    ],
)
def test_unusable_material(shop: Shop, changes: dict[str, Any], reason: str) -> None:
    film = material(shop.admin, current_stock=3)
    shop.admin.materials.update(film["id"], changes)
    work = start(shop.technician, new_task(shop)["id"])
    error = refused(
        shop.server.services,
        lambda: shop.technician.materials.record_consumption(
            work["intervention"]["id"], film["id"], 1
        ),
        "VALIDATION_MATERIAL_UNUSABLE",
        400,
    )
    assert error.details is not None
    assert error.details["reason"] == reason


def test_a_finished_intervention_takes_no_material(shop: Shop) -> None:
    film = material(shop.admin, current_stock=3)
    work = start(shop.technician, new_task(shop)["id"])
    shop.technician.interventions.cancel(work["intervention"]["id"], "client left")
    refused(
        shop.server.services,
        lambda: shop.technician.materials.record_consumption(
            work["intervention"]["id"], film["id"], 1
        ),
        "INTERVENTION_INVALID_STATE",
        400,
    )
