"""The guided workflow through the real HTTP server: a full intervention of every
template from start to finalize, the reads, update, delete, pause/resume/cancel, the
templates and their edits, progress figures, the task kept in step and the events.
The refusals live in test_intervention_rules.py."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.events import Event
from rpma.domains.interventions.models import Intervention
from rpma.domains.interventions.service import InterventionService
from rpma.domains.interventions.templates import DEFAULTS
from tests.conftest import LiveServer, make_user
from tests.helpers import count

NOW = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
MINUTE_MS = 60_000
# A 1x1 PNG: what a signature pad sends, base64.
SIGNATURE = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()
TASK = {
    "title": "Front end PPF",
    "vehicle_plate": "AB-123-CD",
    "vehicle_make": "Porsche",
    "vehicle_model": "911",
    "vehicle_year": 2022,
    "vin": "WP0ZZZ99ZNS123456",
    "scheduled_date": "2024-03-04",
    "priority": "high",
}


# Fixtures and helpers (test_intervention_rules.py uses them too) ------------------------------
@dataclass
class Shop:
    server: LiveServer
    admin: IpcClient
    supervisor: IpcClient
    technician: IpcClient
    viewer: IpcClient
    tech_id: str


def me(client: IpcClient) -> str:
    return str(client.call("auth_validate_session", {})["user"]["id"])


@pytest.fixture
def frozen(server: LiveServer) -> Iterator[None]:
    """The clock at NOW, before anyone signs in (a session lives 8 hours)."""
    clock.freeze(NOW)
    yield
    clock.reset()


@pytest.fixture
def shop(server: LiveServer, frozen: None, role_clients: dict[str, IpcClient]) -> Shop:
    return Shop(
        server=server,
        admin=role_clients["admin"],
        supervisor=role_clients["supervisor"],
        technician=role_clients["technician"],
        viewer=role_clients["viewer"],
        tech_id=me(role_clients["technician"]),
    )


@pytest.fixture
def events(server: LiveServer) -> Iterator[list[Event]]:
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    yield seen
    unsubscribe()


def new_task(shop: Shop, assignee: str | None = None, **data: Any) -> dict[str, Any]:
    """A task assigned to the shop's technician (or ``assignee``)."""
    body = {**TASK, "technician_id": assignee or shop.tech_id, **data}
    return dict(shop.admin.tasks.create(body)["task"])


def start(client: IpcClient, task_id: str, kind: str = "ppf", **extra: Any) -> dict[str, Any]:
    return dict(client.interventions.start(task_id, kind, **extra))


def set_photos(server: LiveServer, intervention_id: str, step_number: int, photos: int) -> None:
    """What the photos domain does after an upload: the step's count."""
    with server.services.db.session(write=True) as db:
        InterventionService(db).set_photo_count(intervention_id, step_number, photos)
        db.commit()


def ticked(step: dict[str, Any], passed: bool = True) -> dict[str, Any]:
    """Every checklist item ticked and every checkpoint marked."""
    return {
        "checklist": {item["id"]: True for item in step["checklist"]},
        "quality_checkpoints": {c["id"]: passed for c in step["quality_checkpoints"]},
    }


def do_step(
    shop: Shop, client: IpcClient, intervention_id: str, step: dict[str, Any], **data: Any
) -> dict[str, Any]:
    """Take the step's photos, tick everything, advance; answers the next step."""
    set_photos(shop.server, intervention_id, step["step_number"], step["min_photos_required"])
    body = {**ticked(step), **data}
    return dict(client.interventions.advance_step(intervention_id, step["step_number"], body))


def stored(server: LiveServer, intervention_id: str) -> Intervention:
    with server.services.db.session(write=False) as db:
        row = db.get(Intervention, intervention_id)
        assert row is not None
        return row


def task_history(client: IpcClient, task_id: str) -> list[tuple[str | None, str, str | None]]:
    """(old, new, reason), oldest first."""
    rows = client.tasks.history(task_id)
    return [(h["old_status"], h["new_status"], h["reason"]) for h in reversed(rows)]


def shape(step: dict[str, Any]) -> tuple[Any, ...]:
    return (
        step["step_number"],
        step["step_name"],
        step["step_type"],
        step["is_mandatory"],
        step["min_photos_required"],
        step["estimated_minutes"],
        step["status"],
    )


# Start ----------------------------------------------------------------------------------------
def test_start_copies_the_task_and_creates_the_steps(shop: Shop, events: list[Event]) -> None:
    client_id = shop.admin.clients.create({"name": "Anna Schmidt"})["client"]["id"]
    task = new_task(shop, client_id=client_id, ppf_zones=["hood", "front_bumper", "roof"])
    gps = {"latitude": 48.85, "longitude": 2.35, "accuracy": 8.5, "timestamp": NOW_MS - 30_000}
    answer = start(
        shop.technician,
        task["id"],
        film_type="premium",
        film_brand="XPEL",
        film_model="Ultimate Plus",
        weather_condition="cloudy",
        lighting_condition="artificial",
        work_location="indoor",
        temperature_celsius=21.5,
        humidity_percentage=45,
        notes="Customer asked for wrapped edges",
        gps=gps,
    )
    intervention, steps = answer["intervention"], answer["steps"]
    assert set(answer) == {"intervention", "steps"}
    assert intervention == {
        "id": intervention["id"],
        "task_id": task["id"],
        "intervention_type": "ppf",
        "status": "in_progress",
        "technician_id": shop.tech_id,
        "template_key": "ppf_standard",
        "priority": "high",
        "description": None,
        "vehicle_plate": "AB-123-CD",
        "vehicle_make": "Porsche",
        "vehicle_model": "911",
        "vehicle_year": 2022,
        "vin": "WP0ZZZ99ZNS123456",
        "client_id": client_id,
        "client_name": "Anna Schmidt",
        "ppf_zones": ["hood", "front_bumper", "roof"],
        "film_type": "premium",
        "film_brand": "XPEL",
        "film_model": "Ultimate Plus",
        "weather_condition": "cloudy",
        "lighting_condition": "artificial",
        "work_location": "indoor",
        "temperature_celsius": 21.5,
        "humidity_percentage": 45.0,
        "start_location": {"latitude": 48.85, "longitude": 2.35, "accuracy": 8.5},
        "end_location": None,
        "started_at": NOW_MS,
        "paused_at": None,
        "paused_seconds": 0,
        "completed_at": None,
        "estimated_duration": 120,
        "actual_duration": None,
        "current_step": 1,
        "total_steps": 4,
        "completion_percentage": 0.0,
        "quality_score": None,
        "customer_satisfaction": None,
        "final_observations": [],
        "customer_signature": None,
        "customer_comments": None,
        "notes": "Customer asked for wrapped edges",
        "created_at": NOW_MS,
        "updated_at": NOW_MS,
        "created_by": shop.tech_id,
        "updated_by": shop.tech_id,
        "version": 1,
    }
    assert [shape(s) for s in steps] == [
        (1, "Inspection", "inspection", True, 4, 15, "in_progress"),
        (2, "Preparation", "preparation", True, 2, 30, "pending"),
        (3, "Installation", "installation", True, 6, 60, "pending"),
        (4, "Finalization", "finalization", True, 4, 15, "pending"),
    ]
    first = steps[0]
    assert first["started_at"] == NOW_MS
    assert first["location"] == {"latitude": 48.85, "longitude": 2.35, "accuracy": 8.5}
    assert first["checklist"][:3] == [
        {"id": "vehicle_clean_dry", "label": "Vehicle washed, clean and dry", "required": True},
        {
            "id": "temperature_confirmed",
            "label": "Workshop temperature between 15 and 30 °C confirmed",
            "required": True,
        },
        {
            "id": "defects_documented",
            "label": "Existing chips, scratches and dents photographed and noted",
            "required": True,
        },
    ]
    assert first["checklist"][3]["required"] is False
    assert [s["started_at"] for s in steps[1:]] == [None, None, None]
    # Installation: each per-zone item once per zone, in the task's zone order.
    installation = steps[2]
    assert [i["id"] for i in installation["checklist"]] == [
        "surface_ready@hood",
        "surface_ready@front_bumper",
        "surface_ready@roof",
        "film_applied@hood",
        "film_applied@front_bumper",
        "film_applied@roof",
        "edges_sealed@hood",
        "edges_sealed@front_bumper",
        "edges_sealed@roof",
    ]
    assert installation["checklist"][1]["label"] == (
        "Surface ready (decontaminated, IPA wipe) (Front bumper)"
    )
    assert [c["id"] for c in installation["quality_checkpoints"]][:3] == [
        "no_bubbles@hood",
        "no_bubbles@front_bumper",
        "no_bubbles@roof",
    ]
    # The task follows, with its history; the events leave after the commit.
    assert shop.admin.tasks.get(task["id"])["task"]["status"] == "in_progress"
    assert task_history(shop.admin, task["id"])[-1] == (
        "scheduled",
        "in_progress",
        "Intervention started (PPF standard)",
    )
    mine = [e.data for e in events if e.type == "intervention_updated"]
    assert mine == [
        {"intervention_id": intervention["id"], "step_number": 1, "status": "in_progress"}
    ]
    assert any(
        e.type == "task_updated" and e.data["updates"].get("status") == "in_progress"
        for e in events
    )


@pytest.mark.parametrize(
    ("kind", "zones", "template", "steps"),
    [
        ("ppf", ["hood", "roof", "front_bumper"], "ppf_standard", 4),
        ("ppf", [], "ppf_standard", 4),
        ("ppf", ["hood"], "ppf_express", 3),
        ("ppf", ["hood", "side_mirrors"], "ppf_express", 3),
        ("ceramic", ["hood"], "ceramic", 5),
        ("detailing", [], "detailing", 4),
        ("other", ["hood", "roof", "trunk_lid"], "detailing", 4),
    ],
)
def test_the_template_follows_type_and_zone_count(
    shop: Shop, kind: str, zones: list[str], template: str, steps: int
) -> None:
    task = new_task(shop, ppf_zones=zones)
    intervention = start(shop.technician, task["id"], kind)["intervention"]
    assert (intervention["template_key"], intervention["total_steps"]) == (template, steps)
    assert intervention["ppf_zones"] == zones


def test_zones_given_at_start_win_over_the_task(shop: Shop) -> None:
    task = new_task(shop, ppf_zones=["hood", "roof", "trunk_lid"])
    answer = start(shop.technician, task["id"], ppf_zones=["side_mirrors"])
    assert answer["intervention"]["template_key"] == "ppf_express"
    assert answer["intervention"]["ppf_zones"] == ["side_mirrors"]
    assert [i["id"] for i in answer["steps"][1]["checklist"]] == [
        "surface_ready@side_mirrors",
        "film_applied@side_mirrors",
        "edges_sealed@side_mirrors",
    ]


def test_a_draft_task_is_scheduled_for_today_then_started(shop: Shop) -> None:
    task = new_task(shop, scheduled_date=None)
    assert task["status"] == "draft"
    start(shop.supervisor, task["id"], "detailing")
    after = shop.admin.tasks.get(task["id"])["task"]
    assert (after["status"], after["scheduled_date"]) == ("in_progress", "2024-03-04")
    assert task_history(shop.admin, task["id"])[1:] == [
        ("draft", "scheduled", "Intervention started (Detailing)"),
        ("scheduled", "in_progress", "Intervention started (Detailing)"),
    ]


def test_estimated_duration_from_the_request_the_task_or_the_template(shop: Shop) -> None:
    given = start(shop.technician, new_task(shop)["id"], estimated_duration_minutes=95)
    from_task = start(shop.technician, new_task(shop, estimated_duration=200)["id"], "ceramic")
    from_template = start(shop.technician, new_task(shop)["id"], "ceramic")
    assert given["intervention"]["estimated_duration"] == 95
    assert from_task["intervention"]["estimated_duration"] == 200
    assert from_template["intervention"]["estimated_duration"] == 15 + 45 + 120 + 60 + 15


# A full intervention of each template ---------------------------------------------------------
def test_full_ppf_standard_with_a_pause(shop: Shop, events: list[Event]) -> None:
    tech = shop.technician
    task = new_task(shop, ppf_zones=["hood", "front_bumper", "front_fenders"])
    answer = start(tech, task["id"])
    iid, steps = answer["intervention"]["id"], answer["steps"]
    figures = []
    step = steps[0]
    for minutes in (15, 30, 60):
        clock.advance(timedelta(minutes=minutes))
        if step["step_number"] == 3:  # a coffee break of 20 minutes in the installation
            tech.interventions.pause(iid, "Coffee")
            clock.advance(timedelta(minutes=20))
            tech.interventions.resume(iid)
        step = do_step(shop, tech, iid, step, measurements={"step_minutes": minutes})
        progress = tech.interventions.get_progress(iid)
        figures.append((progress["current_step"], progress["completion_percentage"]))
    assert figures == [(2, 25.0), (3, 50.0), (4, 75.0)]
    assert (step["step_number"], step["status"]) == (4, "in_progress")
    # The last step is completed by finalize itself, with its data.
    clock.advance(timedelta(minutes=15))
    set_photos(shop.server, iid, 4, 4)
    final = tech.interventions.finalize(
        iid,
        collected_data=ticked(step),
        customer_satisfaction=9,
        customer_signature=SIGNATURE,
        customer_comments="Looks perfect",
        final_observations=["Edges wrapped on the hood", "Aftercare explained"],
    )
    done = final["intervention"]
    assert final["quality_score"] == 100
    assert done["status"] == "completed"
    assert done["completed_at"] == NOW_MS + (15 + 30 + 20 + 60 + 15) * MINUTE_MS
    assert done["paused_seconds"] == 20 * 60
    assert done["actual_duration"] == 15 + 30 + 60 + 15
    assert done["completion_percentage"] == 100.0
    assert (done["customer_satisfaction"], done["quality_score"]) == (9, 100)
    assert done["customer_signature"] == SIGNATURE
    assert done["customer_comments"] == "Looks perfect"
    assert done["final_observations"] == ["Edges wrapped on the hood", "Aftercare explained"]
    assert final["task"]["status"] == "completed"
    assert final["task"]["id"] == task["id"]
    steps = tech.interventions.get_progress(iid)["steps"]
    assert [s["status"] for s in steps] == ["completed"] * 4
    assert [s["duration_seconds"] for s in steps] == [15 * 60, 30 * 60, 80 * 60, 15 * 60]
    assert steps[0]["collected_data"]["measurements"] == {"step_minutes": 15}
    assert steps[3]["completed_at"] == done["completed_at"]
    assert task_history(shop.admin, task["id"]) == [
        (None, "scheduled", "Task created"),
        ("scheduled", "in_progress", "Intervention started (PPF standard)"),
        ("in_progress", "paused", "Coffee"),
        ("paused", "in_progress", "Intervention resumed"),
        ("in_progress", "completed", "Intervention completed"),
    ]
    published = [
        (e.data["step_number"], e.data["status"])
        for e in events
        if e.type == "intervention_updated" and e.data["intervention_id"] == iid
    ]
    assert published == [
        (1, "in_progress"),
        (2, "in_progress"),
        (3, "in_progress"),
        (3, "paused"),
        (3, "in_progress"),
        (4, "in_progress"),
        (4, "completed"),
    ]


def test_full_ppf_express(shop: Shop) -> None:
    task = new_task(shop, ppf_zones=["headlights"])
    answer = start(shop.technician, task["id"])
    iid, step = answer["intervention"]["id"], answer["steps"][0]
    assert [shape(s) for s in answer["steps"]] == [
        (1, "Inspection", "inspection", True, 2, 5, "in_progress"),
        (2, "Installation", "installation", True, 4, 30, "pending"),
        (3, "Finalization", "finalization", True, 2, 5, "pending"),
    ]
    step = do_step(shop, shop.technician, iid, step)
    assert shop.technician.interventions.get_progress(iid)["completion_percentage"] == 33.33
    step = do_step(shop, shop.technician, iid, step)
    last = do_step(shop, shop.technician, iid, step)
    # Advancing the last step answers it, completed; finalize then only closes the record.
    assert (last["step_number"], last["status"]) == (3, "completed")
    progress = shop.technician.interventions.get_progress(iid)
    assert (progress["current_step"], progress["completion_percentage"]) == (3, 100.0)
    final = shop.technician.interventions.finalize(iid, final_observations="All good")
    assert final["intervention"]["final_observations"] == ["All good"]
    assert final["intervention"]["status"] == "completed"
    assert final["task"]["status"] == "completed"


def test_full_ceramic_skipping_the_paint_correction(shop: Shop) -> None:
    task = new_task(shop, ppf_zones=[])
    answer = start(shop.technician, task["id"], "ceramic")
    iid, steps = answer["intervention"]["id"], answer["steps"]
    assert [shape(s) for s in steps] == [
        (1, "Inspection", "inspection", True, 2, 15, "in_progress"),
        (2, "Decontamination", "preparation", True, 0, 45, "pending"),
        (3, "Paint correction", "preparation", False, 0, 120, "pending"),
        (4, "Coating", "installation", True, 2, 60, "pending"),
        (5, "Curing check", "finalization", True, 2, 15, "pending"),
    ]
    step = do_step(shop, shop.technician, iid, steps[0])
    step = do_step(shop, shop.technician, iid, step)
    assert step["step_name"] == "Paint correction"
    skipped_into = shop.technician.interventions.advance_step(
        iid, 3, {"skip": True, "notes": "Paint in good condition"}
    )
    assert skipped_into["step_name"] == "Coating"
    skipped = shop.technician.interventions.get_step(iid, 3)
    assert (skipped["status"], skipped["notes"]) == ("skipped", "Paint in good condition")
    assert "skip" not in skipped["collected_data"]
    progress = shop.technician.interventions.get_progress(iid)
    assert (progress["current_step"], progress["completion_percentage"]) == (4, 60.0)
    step = do_step(shop, shop.technician, iid, skipped_into)
    set_photos(shop.server, iid, 5, 2)
    # One checkpoint failed out of the marks of the whole intervention.
    marks = {"no_high_spots": True, "water_beading": False}
    final = shop.technician.interventions.finalize(
        iid,
        collected_data={**ticked(step), "quality_checkpoints": marks},
        customer_satisfaction=7,
    )
    # inspection 1 + decontamination 1 + coating 1 + curing 2 marked, 4 passed.
    assert final["quality_score"] == 80
    assert final["intervention"]["quality_score"] == 80
    assert final["intervention"]["completion_percentage"] == 100.0
    statuses = [s["status"] for s in shop.technician.interventions.get_progress(iid)["steps"]]
    assert statuses == ["completed", "completed", "skipped", "completed", "completed"]


def test_full_detailing_for_other_work_with_a_given_score(shop: Shop) -> None:
    task = new_task(shop)
    answer = start(shop.supervisor, task["id"], "other")
    iid, step = answer["intervention"]["id"], answer["steps"][0]
    assert answer["intervention"]["technician_id"] == shop.tech_id  # the task's technician
    assert [shape(s) for s in answer["steps"]] == [
        (1, "Inspection", "inspection", True, 2, 10, "in_progress"),
        (2, "Cleaning", "preparation", True, 0, 60, "pending"),
        (3, "Finishing", "installation", False, 0, 30, "pending"),
        (4, "Handover", "finalization", True, 1, 10, "pending"),
    ]
    for _ in range(3):  # the optional finishing is done, not skipped
        step = do_step(shop, shop.technician, iid, step)
    set_photos(shop.server, iid, 4, 1)
    final = shop.technician.interventions.finalize(
        iid, collected_data=ticked(step, passed=False), quality_score=87.5
    )
    assert final["quality_score"] == 88  # given, rounded half up
    assert final["intervention"]["customer_satisfaction"] is None
    assert [s["status"] for s in shop.admin.interventions.get_progress(iid)["steps"]] == [
        "completed"
    ] * 4


def test_quality_score_is_zero_without_marked_checkpoints(shop: Shop) -> None:
    answer = start(shop.technician, new_task(shop)["id"], "detailing")
    iid, step = answer["intervention"]["id"], answer["steps"][0]
    for _ in range(3):
        set_photos(shop.server, iid, step["step_number"], step["min_photos_required"])
        checklist = {"checklist": ticked(step)["checklist"]}
        step = shop.technician.interventions.advance_step(iid, step["step_number"], checklist)
    set_photos(shop.server, iid, 4, 1)
    final = shop.technician.interventions.finalize(
        iid, collected_data={"checklist": ticked(step)["checklist"]}
    )
    assert final["quality_score"] == 0


# Step data ------------------------------------------------------------------------------------
def test_save_progress_merges_without_completing(shop: Shop) -> None:
    answer = start(shop.technician, new_task(shop)["id"])
    iid, intervention = answer["intervention"]["id"], answer["intervention"]
    interventions = shop.technician.interventions
    first = interventions.save_step_progress(
        iid,
        1,
        {
            "checklist": {"vehicle_clean_dry": True},
            "quality_checkpoints": {"paint_condition_ok": False},
            "measurements": {"paint_depth_hood_um": 112},
            "notes": "Small chip on the hood",
            "defects": [{"zone": "hood", "kind": "chip"}],
        },
        expected_version=intervention["version"],
    )
    second = interventions.save_step_progress(
        iid,
        1,
        {
            "checklist": {"temperature_confirmed": True},
            "quality_checkpoints": {"paint_condition_ok": True},
            "measurements": {"paint_depth_roof_um": 98},
            "skip": True,
        },
    )
    assert first["status"] == second["status"] == "in_progress"
    assert second["collected_data"] == {
        "checklist": {"vehicle_clean_dry": True, "temperature_confirmed": True},
        "quality_checkpoints": {"paint_condition_ok": True},
        "measurements": {"paint_depth_hood_um": 112, "paint_depth_roof_um": 98},
        "notes": "Small chip on the hood",
        "defects": [{"zone": "hood", "kind": "chip"}],
    }
    assert second["notes"] == "Small chip on the hood"
    after = interventions.get(iid)
    assert (after["version"], after["current_step"], after["completion_percentage"]) == (3, 1, 0)


def test_photo_count_is_kept_and_does_not_bump_the_version(shop: Shop, events: list[Event]) -> None:
    answer = start(shop.technician, new_task(shop)["id"])
    iid = answer["intervention"]["id"]
    set_photos(shop.server, iid, 1, 3)
    assert shop.viewer.interventions.get_step(iid, 1)["photo_count"] == 3
    assert shop.viewer.interventions.get(iid)["version"] == 1
    set_photos(shop.server, iid, 1, 3)  # unchanged: nothing written, nothing published
    assert sum(1 for e in events if e.type == "intervention_updated") == 1


# Reads ----------------------------------------------------------------------------------------
def test_reads_for_every_role(shop: Shop) -> None:
    task = new_task(shop)
    for client in (shop.admin, shop.supervisor, shop.technician, shop.viewer):
        assert client.interventions.get_active_by_task(task["id"]) is None
        assert client.interventions.get_latest_by_task(task["id"]) is None
    first = start(shop.technician, task["id"])["intervention"]
    shop.technician.interventions.cancel(first["id"], "Wrong film delivered")
    clock.advance(timedelta(minutes=5))
    second = start(shop.technician, task["id"])["intervention"]
    for client in (shop.admin, shop.supervisor, shop.technician, shop.viewer):
        assert client.interventions.get(first["id"])["status"] == "cancelled"
        assert client.interventions.get_active_by_task(task["id"])["id"] == second["id"]
        assert client.interventions.get_latest_by_task(task["id"])["id"] == second["id"]
        assert client.interventions.get_step(second["id"], 2)["step_name"] == "Preparation"
        assert client.interventions.get_progress(second["id"])["total_steps"] == 4
    availability = shop.viewer.tasks.check_task_availability(task["id"])
    assert availability["is_available"] is False
    assert availability["active_intervention"]["id"] == second["id"]
    assert availability["active_intervention"]["status"] == "in_progress"


# Update, cancel, delete -----------------------------------------------------------------------
def test_update_changes_the_details(shop: Shop, events: list[Event]) -> None:
    intervention = start(shop.technician, new_task(shop)["id"])["intervention"]
    updated = shop.technician.interventions.update(
        intervention["id"],
        {
            "notes": "Customer will pick up at 17:00",
            "film_brand": "SunTek",
            "temperature_celsius": 19,
            "humidity_percentage": 55.5,
            "weather_condition": "rainy",
            "customer_comments": "Call before pick-up",
        },
        expected_version=1,
    )
    assert updated["version"] == 2
    assert (updated["notes"], updated["film_brand"], updated["temperature_celsius"]) == (
        "Customer will pick up at 17:00",
        "SunTek",
        19.0,
    )
    assert (updated["humidity_percentage"], updated["weather_condition"]) == (55.5, "rainy")
    assert updated["customer_comments"] == "Call before pick-up"
    # The same values again change nothing (no new version); expected_version in data works.
    again = shop.technician.interventions.update(
        intervention["id"], {"film_brand": "SunTek", "expected_version": 2}
    )
    assert again["version"] == 2
    assert sum(1 for e in events if e.type == "intervention_updated") == 2


def test_cancel_puts_the_task_on_hold_and_frees_it(shop: Shop) -> None:
    task = new_task(shop)
    intervention = start(shop.technician, task["id"])["intervention"]
    shop.technician.interventions.pause(intervention["id"])
    clock.advance(timedelta(minutes=10))
    cancelled = shop.technician.interventions.cancel(intervention["id"], "Customer left")
    assert cancelled["status"] == "cancelled"
    assert cancelled["final_observations"] == ["Cancelled: Customer left"]
    assert (cancelled["paused_at"], cancelled["paused_seconds"]) == (None, 600)
    assert shop.admin.tasks.get(task["id"])["task"]["status"] == "on_hold"
    assert task_history(shop.admin, task["id"])[-3:] == [
        ("in_progress", "paused", "Intervention paused"),
        ("paused", "in_progress", "Intervention cancelled: Customer left"),
        ("in_progress", "on_hold", "Intervention cancelled: Customer left"),
    ]
    assert shop.admin.tasks.check_task_availability(task["id"]) == {"is_available": True}
    again = start(shop.technician, task["id"])
    assert again["intervention"]["status"] == "in_progress"
    assert shop.admin.tasks.get(task["id"])["task"]["status"] == "in_progress"


def test_delete_a_cancelled_intervention(shop: Shop) -> None:
    task = new_task(shop)
    intervention = start(shop.technician, task["id"])["intervention"]
    cancelled = shop.supervisor.interventions.cancel(intervention["id"], "Started by mistake")
    answer = shop.technician.interventions.delete(intervention["id"], cancelled["version"])
    assert answer == "Intervention deleted"
    assert shop.admin.interventions.get_latest_by_task(task["id"]) is None
    assert stored(shop.server, intervention["id"]).deleted_at == NOW_MS
    assert count(shop.server.services, "intervention_steps") == 4  # kept with the row


# Templates ------------------------------------------------------------------------------------
def test_list_templates_for_every_role(shop: Shop) -> None:
    for client in (shop.admin, shop.supervisor, shop.technician, shop.viewer):
        templates = client.interventions.list_templates()["templates"]
        assert [t["key"] for t in templates] == [
            "ppf_standard",
            "ppf_express",
            "ceramic",
            "detailing",
        ]
    first = templates[0]
    assert {k: first[k] for k in ("name", "applies_to", "source", "version")} == {
        "name": "PPF standard",
        "applies_to": "ppf with more than 2 zones (or no zones given)",
        "source": "default",
        "version": 0,
    }
    assert first["estimated_minutes"] == 120
    assert first["steps"] == DEFAULTS["ppf_standard"].model_dump(mode="json")["steps"]
    assert first["steps"][2]["checklist"][2] == {
        "id": "edges_sealed",
        "label": "Edges wrapped and sealed",
        "required": True,
        "per_zone": True,
    }


def express_with_an_extra_step() -> dict[str, Any]:
    definition = DEFAULTS["ppf_express"].model_dump(mode="json")
    definition["name"] = "PPF express (with curing)"
    definition["steps"].insert(
        2,
        {
            "id": "curing",
            "step_name": "Curing",
            "step_type": "finalization",
            "is_mandatory": False,
            "min_photos_required": 0,
            "max_photos_allowed": 10,
            "estimated_minutes": 20,
            "checklist": [{"id": "heat_gun", "label": "Edges post-heated", "required": True}],
            "quality_checkpoints": [],
        },
    )
    return definition


def test_template_edit_applies_to_new_interventions_only(shop: Shop) -> None:
    before = start(shop.technician, new_task(shop, ppf_zones=["hood"])["id"])
    saved = shop.admin.interventions.update_template("ppf_express", express_with_an_extra_step())
    assert (saved["source"], saved["version"], saved["name"]) == (
        "custom",
        1,
        "PPF express (with curing)",
    )
    assert saved["updated_by"] == me(shop.admin)
    assert saved["estimated_minutes"] == 60
    listed = {t["key"]: t for t in shop.viewer.interventions.list_templates()["templates"]}
    assert listed["ppf_express"] == saved
    after = start(shop.technician, new_task(shop, ppf_zones=["hood"])["id"])
    assert [s["step_name"] for s in after["steps"]] == [
        "Inspection",
        "Installation",
        "Curing",
        "Finalization",
    ]
    assert after["steps"][2]["checklist"] == [
        {"id": "heat_gun", "label": "Edges post-heated", "required": True}
    ]
    # The running intervention keeps its copies.
    old = shop.technician.interventions.get_progress(before["intervention"]["id"])
    assert old["total_steps"] == 3
    assert [s["step_name"] for s in old["steps"]] == ["Inspection", "Installation", "Finalization"]
    # A second edit with the right version, then back to the default.
    second = shop.admin.interventions.update_template(
        "ppf_express", {**express_with_an_extra_step(), "name": "Express"}, expected_version=1
    )
    assert second["version"] == 2
    restored = shop.admin.interventions.update_template("ppf_express", None, expected_version=2)
    assert (restored["source"], restored["version"], restored["name"]) == (
        "default",
        0,
        "PPF express",
    )
    assert count(shop.server.services, "workflow_templates") == 0


# Another technician ---------------------------------------------------------------------------
def test_reassigning_the_task_hands_over_the_intervention(shop: Shop) -> None:
    other = make_user(shop.admin, shop.server, "technician")
    try:
        task = new_task(shop)
        intervention = start(shop.technician, task["id"])["intervention"]
        shop.admin.tasks.update(task["id"], {"technician_id": me(other)})
        paused = other.interventions.pause(intervention["id"], "Shift change")
        assert paused["status"] == "paused"
        assert paused["updated_by"] == me(other)
    finally:
        other.close()


def test_unique_ids_are_uuids(shop: Shop) -> None:
    answer = start(shop.technician, new_task(shop)["id"])
    for value in [answer["intervention"]["id"], *(s["id"] for s in answer["steps"])]:
        assert str(uuid.UUID(value)) == value
