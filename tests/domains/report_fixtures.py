"""A known workshop for the report tests: March 2024 in Paris, every figure worked out by
hand below (tests/domains/test_reports*.py assert them exactly).

The shop is in Europe/Paris, so day boundaries are local: a task created at 22:30 UTC on
31 March (00:30 on 1 April in Paris, summer time) is April's, and one finished at 23:30
UTC on 10 March (00:30 on the 11th) is late for a job scheduled on the 10th. Rows are
written in one transaction through the models, as `rpma demo` writes its workshop.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

import pytest
from sqlalchemy import insert

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.domains.clients.models import Client
from rpma.domains.interventions.models import Intervention, InterventionStep
from rpma.domains.materials.models import Material, MaterialConsumption
from rpma.domains.settings.service import TIMEZONE_KEY, set_setting
from rpma.domains.tasks.models import Task
from tests.conftest import USER_PASSWORD, LiveServer

MARCH: Final = {"date_range": {"start": "2024-03-01", "end": "2024-03-31"}}
ZONE: Final = "Europe/Paris"


def ms(text: str) -> int:
    """``2024-03-04T15:00`` (UTC) as Unix ms."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@dataclass
class KnownShop:
    tech1: str
    tech2: str
    clients: dict[str, str] = field(default_factory=dict)  # C1..C5 -> id
    tasks: dict[str, str] = field(default_factory=dict)  # A..J, P1 -> id
    interventions: dict[str, str] = field(default_factory=dict)
    materials: dict[str, str] = field(default_factory=dict)


# name, city, created (UTC)
CLIENTS: Final = {
    "C1": ("Alice Martin", "Lyon", "2024-01-10T09:00"),
    "C2": ("Prestige Autos", "Paris", "2024-03-05T09:00"),
    "C3": ("Bob Durand", "Lyon", "2024-03-20T09:00"),
    "C4": ("Zoe Petit", None, "2024-02-01T09:00"),
    "C5": ("Late Comer", "Nice", "2024-04-05T09:00"),
}
# client, technician (1, 2 or None), scheduled, status, actual minutes, completed (UTC),
# created (UTC), deleted
TASKS: Final[dict[str, tuple[Any, ...]]] = {
    "P1": ("C1", 1, "2024-02-15", "completed", 100, "2024-02-15T16:00", None, False),
    "A": ("C1", 1, "2024-03-04", "completed", 120, "2024-03-04T15:00", None, False),
    "B": ("C1", 1, "2024-03-04", "archived", 90, "2024-03-05T09:00", None, False),
    "C": ("C2", 2, "2024-03-10", "completed", 200, "2024-03-10T23:30", None, False),
    "D": ("C2", 2, "2024-03-31", "in_progress", None, None, None, False),
    "E": ("C3", 1, None, "draft", None, None, "2024-03-31T22:30", False),
    "F": ("C3", None, None, "draft", None, None, "2024-02-29T23:30", False),
    "G": ("C3", 2, "2024-03-15", "cancelled", None, None, None, False),
    "H": ("C1", 1, "2024-03-20", "completed", None, None, None, False),
    "I": ("C2", 1, "2024-03-12", "completed", 60, "2024-03-12T12:00", None, True),
    "J": ("C1", 1, "2024-04-02", "scheduled", None, None, None, False),
}
# task, technician, status, started (UTC), actual, quality, satisfaction, gps
INTERVENTIONS: Final[dict[str, tuple[Any, ...]]] = {
    "IA": ("A", 1, "completed", "2024-03-04T08:00", 110, 90, 9, (45.76, 4.84)),
    "IB": ("B", 1, "completed", "2024-03-04T12:00", 80, 70, 7, (45.74, 4.86)),
    "IC": ("C", 2, "completed", "2024-03-10T09:00", 190, 85, None, None),
    "ID": ("D", 2, "in_progress", "2024-03-31T08:00", None, None, None, None),
    "IX": ("P1", 1, "completed", "2024-02-15T08:00", 95, 50, 5, None),
    "IE": ("J", 2, "cancelled", "2024-03-31T22:30", None, None, None, None),
}
# intervention, step number, type, status, min photos, photos
STEPS: Final = (
    ("IA", 1, "inspection", "completed", 4, 4),
    ("IA", 2, "installation", "completed", 6, 5),
    ("IB", 1, "inspection", "completed", 2, 2),
    ("IB", 2, "finalization", "rework", 2, 0),
    ("IX", 1, "inspection", "completed", 2, 0),
)
# material: sku, name, type, unit, unit cost (cents)
MATERIALS: Final = {
    "M1": ("FILM-XP", "XPEL Ultimate Plus", "ppf_film", "meter", 4000),
    "M2": ("ADH-01", "Mounting gel", "adhesive", "liter", 2000),
}
# intervention, material, used (milli), waste (milli), cost (cents)
CONSUMPTIONS: Final = (
    ("IA", "M1", 2500, 500, 10000),
    ("IC", "M1", 1000, 0, 4000),
    ("IC", "M2", 250, 0, 500),
    ("IX", "M2", 1000, 0, 2000),
)


def _audit(at: int) -> dict[str, Any]:
    return {"created_at": at, "updated_at": at, "created_by": None, "updated_by": None}


def build_known_shop(server: LiveServer, tech1: str, tech2: str) -> KnownShop:
    shop = KnownShop(tech1, tech2)
    technicians = {1: tech1, 2: tech2, None: None}
    with server.services.db.session(write=True) as db:
        set_setting(db, TIMEZONE_KEY, ZONE, actor_id=None)
        for key, (name, city, created) in CLIENTS.items():
            shop.clients[key] = str(uuid.uuid4())
            db.execute(
                insert(Client).values(
                    id=shop.clients[key],
                    name=name,
                    customer_type="individual",
                    address_city=city,
                    address_country="France",
                    tags=[],
                    version=1,
                    **_audit(ms(created)),
                )
            )
        for number, (key, row) in enumerate(TASKS.items(), start=1):
            client, tech, scheduled, status, actual, completed, created, deleted = row
            shop.tasks[key] = str(uuid.uuid4())
            created_ms = ms(created) if created else ms("2024-02-01T09:00")
            db.execute(
                insert(Task).values(
                    id=shop.tasks[key],
                    task_number=f"20240201-{number:03d}",
                    title=f"Task {key}",
                    vehicle_plate=f"AA-{number:03d}-BB",
                    ppf_zones=["hood"],
                    status=status,
                    priority="medium",
                    client_id=shop.clients[client],
                    technician_id=technicians[tech],
                    scheduled_date=date.fromisoformat(scheduled) if scheduled else None,
                    actual_duration=actual,
                    completed_at=ms(completed) if completed else None,
                    tags=[],
                    version=1,
                    deleted_at=ms("2024-03-13T09:00") if deleted else None,
                    **_audit(created_ms),
                )
            )
        for key, row in INTERVENTIONS.items():
            task, tech, status, started, actual, quality, satisfaction, gps = row
            shop.interventions[key] = str(uuid.uuid4())
            db.execute(
                insert(Intervention).values(
                    id=shop.interventions[key],
                    task_id=shop.tasks[task],
                    intervention_type="ppf",
                    status=status,
                    technician_id=technicians[tech],
                    template_key="ppf_express",
                    client_id=shop.clients[TASKS[task][0]],
                    ppf_zones=["hood"],
                    started_at=ms(started),
                    actual_duration=actual,
                    quality_score=quality,
                    customer_satisfaction=satisfaction,
                    start_latitude=gps[0] if gps else None,
                    start_longitude=gps[1] if gps else None,
                    final_observations=[],
                    paused_seconds=0,
                    current_step=1,
                    total_steps=2,
                    completion_percentage=0.0,
                    version=1,
                    **_audit(ms(started)),
                )
            )
        for intervention, number, kind, status, minimum, photos in STEPS:
            db.execute(
                insert(InterventionStep).values(
                    id=str(uuid.uuid4()),
                    intervention_id=shop.interventions[intervention],
                    step_number=number,
                    step_name=kind.title(),
                    step_type=kind,
                    status=status,
                    is_mandatory=True,
                    min_photos_required=minimum,
                    max_photos_allowed=50,
                    photo_count=photos,
                    checklist=[],
                    quality_checkpoints=[],
                    collected_data={},
                    **_audit(ms("2024-03-01T09:00")),
                )
            )
        for key, (sku, name, kind, unit, cost) in MATERIALS.items():
            shop.materials[key] = str(uuid.uuid4())
            db.execute(
                insert(Material).values(
                    id=shop.materials[key],
                    sku=sku,
                    name=name,
                    material_type=kind,
                    unit_of_measure=unit,
                    current_stock_milli=100_000,
                    minimum_stock_milli=0,
                    unit_cost_cents=cost,
                    currency="EUR",
                    serial_numbers=[],
                    is_active=True,
                    is_discontinued=False,
                    version=1,
                    **_audit(ms("2024-01-01T09:00")),
                )
            )
        for intervention, material, used, waste, cost in CONSUMPTIONS:
            task_key = INTERVENTIONS[intervention][0]
            db.execute(
                insert(MaterialConsumption).values(
                    id=str(uuid.uuid4()),
                    intervention_id=shop.interventions[intervention],
                    task_id=shop.tasks[task_key],
                    material_id=shop.materials[material],
                    quantity_used_milli=used,
                    waste_quantity_milli=waste,
                    unit_cost_cents=MATERIALS[material][4],
                    total_cost_cents=cost,
                    currency="EUR",
                    recorded_at=ms(INTERVENTIONS[intervention][3]),
                    **_audit(ms(INTERVENTIONS[intervention][3])),
                )
            )
        db.commit()
    return shop


# Fixtures -------------------------------------------------------------------------------------
NOW = datetime(2024, 4, 10, 9, 0, tzinfo=UTC)


@dataclass
class Shop:
    server: LiveServer
    known: KnownShop
    admin: IpcClient
    supervisor: IpcClient
    technician: IpcClient
    viewer: IpcClient


def user_id(client: IpcClient) -> str:
    return str(client.call("auth_validate_session", {})["user"]["id"])


@pytest.fixture(name="frozen")
def frozen_clock(server: LiveServer) -> Iterator[None]:
    """The clock at NOW before anyone signs in (a session lives 8 hours)."""
    clock.freeze(NOW)
    yield
    clock.reset()


@pytest.fixture(name="shop")
def known_shop(server: LiveServer, frozen: None, role_clients: dict[str, IpcClient]) -> Shop:
    admin = role_clients["admin"]
    second = admin.call(
        "auth_create_account",
        {
            "email": "tara@shop.example",
            "first_name": "Tara",
            "last_name": "Second",
            "password": USER_PASSWORD,
            "role": "technician",
        },
    )
    tech2 = str(second.get("id") or second["user"]["id"])
    known = build_known_shop(server, user_id(role_clients["technician"]), tech2)
    server.services.cache.clear()  # the tables were wiped behind the cache's back
    return Shop(
        server,
        known,
        admin,
        role_clients["supervisor"],
        role_clients["technician"],
        role_clients["viewer"],
    )
