"""Every rule of the workflow refused with its exact code, and nothing changed: starting
twice (also concurrently, also past the service check onto the unique index), GPS and
environment checks, the step order, mandatory steps, photos and checklists, the status
machine, finalizing early, scores and signatures, stale versions, and a technician
touching another technician's intervention."""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest

from rpma.client import IpcClient, IpcError
from rpma.core.context import Principal
from rpma.core.errors import AuthorizationError, InterventionInvalidState
from rpma.core.permissions import Role
from rpma.domains.interventions.repository import InterventionRepository
from rpma.domains.interventions.service import InterventionService
from rpma.domains.interventions.templates import DEFAULTS
from tests.conftest import make_user
from tests.domains.test_interventions import (
    NOW_MS,
    SIGNATURE,
    Shop,
    do_step,
    frozen,
    me,
    new_task,
    set_photos,
    shop,
    start,
    ticked,
)
from tests.helpers import count, refused, security_events

__all__ = ["frozen", "shop"]  # fixtures shared with test_interventions.py


def started(shop: Shop, kind: str = "ppf", **task: Any) -> tuple[str, dict[str, Any]]:
    answer = start(shop.technician, new_task(shop, **task)["id"], kind)
    return answer["intervention"]["id"], answer["steps"][0]


def at_last_step(shop: Shop) -> tuple[str, dict[str, Any]]:
    """A ppf_express intervention whose finalization step is in progress."""
    iid, step = started(shop, ppf_zones=["hood"])
    step = do_step(shop, shop.technician, iid, step)
    return iid, do_step(shop, shop.technician, iid, step)


# Starting -------------------------------------------------------------------------------------
def test_starting_twice(shop: Shop) -> None:
    task = new_task(shop)
    first = start(shop.technician, task["id"])["intervention"]
    error = refused(
        shop.server.services,
        lambda: start(shop.supervisor, task["id"], "ceramic"),
        "INTERVENTION_ALREADY_ACTIVE",
        400,
    )
    assert error.details["active_intervention_id"] == first["id"]
    shop.technician.interventions.pause(first["id"])  # paused is still active
    refused(
        shop.server.services,
        lambda: start(shop.technician, task["id"]),
        "INTERVENTION_ALREADY_ACTIVE",
    )


def test_concurrent_starts_give_exactly_one_success(shop: Shop) -> None:
    task = new_task(shop)
    clients = [shop.server.client(token=shop.technician.token) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    outcomes: list[str] = []

    def attempt(client: IpcClient) -> None:
        barrier.wait()
        try:
            start(client, task["id"])
            outcomes.append("OK")
        except IpcError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for client in clients:
        client.close()
    assert sorted(outcomes) == ["INTERVENTION_ALREADY_ACTIVE"] * 7 + ["OK"]
    assert count(shop.server.services, "interventions") == 1
    assert count(shop.server.services, "intervention_steps") == 4
    moves = [h for h in shop.admin.tasks.history(task["id"]) if h["new_status"] == "in_progress"]
    assert len(moves) == 1


def test_the_unique_index_answers_when_the_check_is_passed(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two starts that both pass the service's check: the partial unique index refuses the
    second insert, with the same code and nothing written."""
    task = new_task(shop)
    start(shop.technician, task["id"])
    monkeypatch.setattr(InterventionRepository, "active_for_task", lambda self, task_id: None)
    error = refused(
        shop.server.services,
        lambda: start(shop.technician, task["id"]),
        "INTERVENTION_ALREADY_ACTIVE",
        400,
    )
    assert error.details["task_id"] == task["id"]


def test_start_needs_an_open_task(shop: Shop) -> None:
    task = new_task(shop)
    shop.admin.tasks.update(task["id"], {"status": "cancelled"})
    error = refused(
        shop.server.services,
        lambda: start(shop.technician, task["id"]),
        "INTERVENTION_INVALID_STATE",
        400,
    )
    assert error.details["task_status"] == "cancelled"
    refused(shop.server.services, lambda: start(shop.admin, "no-such-task"), "NOT_FOUND_TASK", 404)


def test_a_technician_starts_only_on_their_tasks(shop: Shop) -> None:
    other = make_user(shop.admin, shop.server, "technician")
    try:
        theirs = new_task(shop, assignee=me(other))
        unassigned = dict(shop.admin.tasks.create({**new_task_fields()})["task"])
        for task_id in (theirs["id"], unassigned["id"]):
            refused(
                shop.server.services,
                lambda task_id=task_id: start(shop.technician, task_id),  # type: ignore[misc]
                "AUTH_FORBIDDEN",
                403,
            )
        refused(
            shop.server.services, lambda: start(shop.viewer, theirs["id"]), "AUTH_FORBIDDEN", 403
        )
        assert ("permission_denied", shop.tech_id) in security_events(shop.server.services)
        # A supervisor starts on anybody's task; the task's technician owns it.
        answer = start(shop.supervisor, unassigned["id"])
        assert answer["intervention"]["technician_id"] == me(shop.supervisor)
    finally:
        other.close()


def new_task_fields() -> dict[str, Any]:
    return {"title": "Walk-in", "vehicle_plate": "XY-999-ZZ", "scheduled_date": "2024-03-04"}


def gps(**changes: Any) -> dict[str, Any]:
    return {"latitude": 45.76, "longitude": 4.83, "accuracy": 12.0, "timestamp": NOW_MS, **changes}


@pytest.mark.parametrize(
    ("fix", "message"),
    [
        (gps(latitude=90.5), "Latitude must be a number between -90 and 90 degrees."),
        (gps(longitude=-180.01), "Longitude must be a number between -180 and 180 degrees."),
        (gps(accuracy=100.5), "GPS accuracy 100.5m exceeds maximum 100.0m"),
        (gps(accuracy=-1), "GPS accuracy must be a non-negative number of metres."),
        (
            gps(timestamp=NOW_MS - 10 * 60_000 - 1),
            "GPS location 11 minutes old exceeds maximum 10 minutes",
        ),
        (
            gps(timestamp=NOW_MS + 61_000),
            "GPS location timestamp is in the future; please check the device clock.",
        ),
    ],
)
def test_gps_is_checked_by_the_seed_validators(
    shop: Shop, fix: dict[str, Any], message: str
) -> None:
    task = new_task(shop)
    error = refused(
        shop.server.services,
        lambda: start(shop.technician, task["id"], gps=fix),
        "VALIDATION_ERROR",
        400,
    )
    assert error.message == f"gps: {message}"


def test_gps_at_the_limits_is_accepted(shop: Shop) -> None:
    fix = gps(latitude=-90, longitude=180, accuracy=100, timestamp=NOW_MS - 10 * 60_000)
    answer = start(shop.technician, new_task(shop)["id"], gps=fix)
    assert answer["intervention"]["start_location"] == {
        "latitude": -90.0,
        "longitude": 180.0,
        "accuracy": 100.0,
    }


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"temperature_celsius": 60.5}, "temperature_celsius"),
        ({"temperature_celsius": -31}, "temperature_celsius"),
        ({"humidity_percentage": 100.1}, "humidity_percentage"),
        ({"humidity_percentage": -1}, "humidity_percentage"),
        ({"weather_condition": "snowy"}, "weather_condition"),
        ({"lighting_condition": "dark"}, "lighting_condition"),
        ({"work_location": "garden"}, "work_location"),
        ({"film_type": "chrome"}, "film_type"),
        ({"ppf_zones": ["bonnet"]}, "ppf_zones.0"),
        ({"temperature_celsius": "20"}, "temperature_celsius"),
    ],
)
def test_environment_out_of_range(shop: Shop, extra: dict[str, Any], field: str) -> None:
    task = new_task(shop)
    error = refused(
        shop.server.services,
        lambda: start(shop.technician, task["id"], **extra),
        "VALIDATION_ERROR",
    )
    assert [f["field"] for f in error.details["fields"]] == [field]


def test_the_intervention_type_is_required_and_known(shop: Shop) -> None:
    task = new_task(shop)
    for kind in ("wrap", ""):
        refused(
            shop.server.services,
            lambda kind=kind: start(shop.technician, task["id"], kind),  # type: ignore[misc]
            "VALIDATION_ERROR",
        )
    refused(
        shop.server.services,
        lambda: shop.technician.call("intervention_start", {"task_id": task["id"]}),
        "VALIDATION_ERROR",
    )


# The step order and its requirements ----------------------------------------------------------
def test_advancing_out_of_order(shop: Shop) -> None:
    iid, step = started(shop)
    services = shop.server.services
    advance = shop.technician.interventions.advance_step
    error = refused(
        services, lambda: advance(iid, 2, ticked(step)), "INTERVENTION_STEP_OUT_OF_ORDER", 400
    )
    assert error.message == "Step 2 (Preparation) is pending; the current step is 1 (Inspection)"
    assert error.details["current_step"] == 1
    refused(services, lambda: advance(iid, 4), "INTERVENTION_STEP_OUT_OF_ORDER")
    refused(services, lambda: advance(iid, 5), "INTERVENTION_STEP_NOT_FOUND", 400)
    refused(services, lambda: advance(iid, 0), "VALIDATION_ERROR")
    do_step(shop, shop.technician, iid, step)
    error = refused(services, lambda: advance(iid, 1), "INTERVENTION_STEP_OUT_OF_ORDER")
    assert error.message == "Step 1 (Inspection) is completed; the current step is 2 (Preparation)"
    save = shop.technician.interventions.save_step_progress
    refused(services, lambda: save(iid, 1, {"notes": "late"}), "INTERVENTION_STEP_OUT_OF_ORDER")
    refused(services, lambda: save(iid, 3, {"notes": "early"}), "INTERVENTION_STEP_OUT_OF_ORDER")


def test_a_mandatory_step_cannot_be_skipped(shop: Shop) -> None:
    iid, _ = started(shop, "ceramic")
    error = refused(
        shop.server.services,
        lambda: shop.technician.interventions.advance_step(iid, 1, {"skip": True}),
        "INTERVENTION_STEP_OUT_OF_ORDER",
        400,
    )
    assert error.message == "Step 1 (Inspection) is mandatory and cannot be skipped"


def test_too_few_photos(shop: Shop) -> None:
    iid, step = started(shop)
    set_photos(shop.server, iid, 1, 3)
    error = refused(
        shop.server.services,
        lambda: shop.technician.interventions.advance_step(iid, 1, ticked(step)),
        "INTERVENTION_VALIDATION_FAILED",
        400,
    )
    assert (
        error.message == "Step 1 (Inspection) is not complete: 1 more photo (4 required, 3 taken)"
    )
    assert error.details == {
        "step_number": 1,
        "photos": {"required": 4, "taken": 3},
        "missing": ["1 more photo (4 required, 3 taken)"],
    }


def test_a_required_checklist_item_unticked(shop: Shop) -> None:
    iid, _ = started(shop)
    set_photos(shop.server, iid, 1, 4)
    # The optional paint-depth item may stay unticked; one required item is false.
    data = {"checklist": {"vehicle_clean_dry": True, "temperature_confirmed": False}}
    error = refused(
        shop.server.services,
        lambda: shop.technician.interventions.advance_step(iid, 1, data),
        "INTERVENTION_VALIDATION_FAILED",
    )
    assert error.details["unchecked"] == [
        {
            "id": "temperature_confirmed",
            "label": "Workshop temperature between 15 and 30 °C confirmed",
        },
        {
            "id": "defects_documented",
            "label": "Existing chips, scratches and dents photographed and noted",
        },
    ]
    assert "photos" not in error.details
    both = started(shop)[0]
    error = refused(
        shop.server.services,
        lambda: shop.technician.interventions.advance_step(both, 1, {}),
        "INTERVENTION_VALIDATION_FAILED",
    )
    assert error.details["missing"] == [
        "4 more photos (4 required, 0 taken)",
        "checklist: Vehicle washed, clean and dry",
        "checklist: Workshop temperature between 15 and 30 °C confirmed",
        "checklist: Existing chips, scratches and dents photographed and noted",
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"checklist": {"no_such_item": True}}, "data.checklist.no_such_item"),
        ({"quality_checkpoints": {"made_up": False}}, "data.quality_checkpoints.made_up"),
        ({"checklist": {"vehicle_clean_dry": "yes"}}, "data.checklist.vehicle_clean_dry"),
        ({"measurements": [1, 2]}, "data.measurements"),
        ({"skip": "true"}, "data.skip"),
    ],
)
def test_step_data_is_checked(shop: Shop, data: dict[str, Any], field: str) -> None:
    iid, _ = started(shop)
    for call in (
        shop.technician.interventions.advance_step,
        shop.technician.interventions.save_step_progress,
    ):
        error = refused(
            shop.server.services,
            lambda call=call: call(iid, 1, data),  # type: ignore[misc]
            "VALIDATION_ERROR",
        )
        assert [f["field"] for f in error.details["fields"]] == [field]


def test_step_data_has_a_size_cap(shop: Shop) -> None:
    iid, _ = started(shop)
    refused(
        shop.server.services,
        lambda: shop.technician.interventions.save_step_progress(iid, 1, {"blob": "x" * 300_000}),
        "VALIDATION_ERROR",
    )


# The status machine ---------------------------------------------------------------------------
def test_a_paused_intervention_takes_no_step_work(shop: Shop) -> None:
    iid, step = started(shop)
    api = shop.technician.interventions
    api.pause(iid)
    services = shop.server.services
    set_photos(shop.server, iid, 1, 4)
    error = refused(
        services, lambda: api.advance_step(iid, 1, ticked(step)), "INTERVENTION_INVALID_STATE", 400
    )
    assert error.message == "Cannot advance step 1: the intervention is paused; resume it first"
    refused(services, lambda: api.save_step_progress(iid, 1, {}), "INTERVENTION_INVALID_STATE")
    refused(services, lambda: api.finalize(iid), "INTERVENTION_INVALID_STATE")
    error = refused(services, lambda: api.pause(iid), "INTERVENTION_INVALID_STATE")
    assert error.message == "Cannot pause an intervention that is paused (resume it first)"
    api.resume(iid)
    error = refused(services, lambda: api.resume(iid), "INTERVENTION_INVALID_STATE")
    assert error.message == "Cannot resume an intervention that is in_progress"
    assert api.advance_step(iid, 1, ticked(step))["step_number"] == 2


def test_closed_interventions_refuse_every_change(shop: Shop) -> None:
    cancelled, _ = started(shop)
    shop.technician.interventions.cancel(cancelled, "Wrong car")
    completed, last = at_last_step(shop)
    set_photos(shop.server, completed, 3, 2)
    shop.technician.interventions.finalize(completed, collected_data=ticked(last))
    api, services = shop.technician.interventions, shop.server.services
    for iid in (cancelled, completed):
        for call in (
            lambda iid=iid: api.pause(iid),
            lambda iid=iid: api.resume(iid),
            lambda iid=iid: api.cancel(iid, "Again"),
            lambda iid=iid: api.finalize(iid),
            lambda iid=iid: api.advance_step(iid, 1),
            lambda iid=iid: api.save_step_progress(iid, 1, {}),
            lambda iid=iid: api.update(iid, {"notes": "late"}),
        ):
            refused(services, call, "INTERVENTION_INVALID_STATE", 400)
    error = refused(services, lambda: api.delete(completed), "INTERVENTION_INVALID_STATE")
    assert error.message == "Only a cancelled intervention can be deleted; this one is completed"


def test_delete_refuses_a_running_intervention(shop: Shop) -> None:
    iid, _ = started(shop)
    error = refused(
        shop.server.services,
        lambda: shop.technician.interventions.delete(iid),
        "INTERVENTION_INVALID_STATE",
    )
    assert error.message.endswith("(cancel it first)")


def test_cancel_needs_a_reason(shop: Shop) -> None:
    iid, _ = started(shop)
    for reason in ("", "   ", "x" * 501):
        refused(
            shop.server.services,
            lambda reason=reason: shop.technician.interventions.cancel(iid, reason),  # type: ignore[misc]
            "VALIDATION_ERROR",
        )


def test_update_refuses_fields_with_their_own_command(shop: Shop) -> None:
    iid, _ = started(shop)
    for data in (
        {"status": "completed"},
        {"quality_score": 100},
        {"current_step": 3},
        {"temperature_celsius": 75},
    ):
        refused(
            shop.server.services,
            lambda data=data: shop.technician.interventions.update(iid, data),  # type: ignore[misc]
            "VALIDATION_ERROR",
        )


# Finalize -------------------------------------------------------------------------------------
def test_finalizing_early(shop: Shop) -> None:
    iid, step = started(shop)
    do_step(shop, shop.technician, iid, step)
    error = refused(
        shop.server.services,
        lambda: shop.technician.interventions.finalize(iid, customer_satisfaction=8),
        "INTERVENTION_INVALID_STATE",
        400,
    )
    assert error.message == (
        "Cannot finalize: mandatory steps not done: 2 (Preparation), 3 (Installation), "
        "4 (Finalization)"
    )
    assert error.details["pending_steps"][0] == {
        "step_number": 2,
        "step_name": "Preparation",
        "status": "in_progress",
    }


def test_finalize_needs_the_last_steps_requirements(shop: Shop) -> None:
    iid, last = at_last_step(shop)
    set_photos(shop.server, iid, 3, 1)
    error = refused(
        shop.server.services,
        lambda: shop.technician.interventions.finalize(iid, collected_data=ticked(last)),
        "INTERVENTION_VALIDATION_FAILED",
        400,
    )
    assert error.details["photos"] == {"required": 2, "taken": 1}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"customer_satisfaction": 0}, "customer_satisfaction"),
        ({"customer_satisfaction": 11}, "customer_satisfaction"),
        ({"customer_satisfaction": 7.5}, "customer_satisfaction"),
        ({"quality_score": 100.5}, "quality_score"),
        ({"quality_score": -1}, "quality_score"),
        ({"customer_signature": "not base64!"}, "customer_signature"),
        ({"customer_signature": SIGNATURE[:-2]}, "customer_signature"),
        ({"customer_signature": SIGNATURE[:20] + "\n" + SIGNATURE[20:]}, "customer_signature"),
        ({"customer_signature": ""}, "customer_signature"),
        ({"customer_signature": base64.b64encode(b"hello").decode()}, "customer_signature"),
        (
            {"customer_signature": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 2**21).decode()},
            "customer_signature",
        ),
        ({"final_observations": ["ok", ""]}, "final_observations"),
    ],
)
def test_finalize_inputs_are_checked(shop: Shop, fields: dict[str, Any], field: str) -> None:
    iid, last = at_last_step(shop)
    set_photos(shop.server, iid, 3, 2)
    error = refused(
        shop.server.services,
        lambda: shop.technician.interventions.finalize(iid, collected_data=ticked(last), **fields),
        "VALIDATION_ERROR",
        400,
    )
    assert all(f["field"].startswith(field) for f in error.details["fields"]), error.details


# Versions -------------------------------------------------------------------------------------
def test_a_stale_version_is_a_409_on_every_write(shop: Shop) -> None:
    iid, step = started(shop)
    api, services = shop.technician.interventions, shop.server.services
    api.update(iid, {"notes": "v2"})  # now version 2
    stale = 1
    for call in (
        lambda: api.update(iid, {"notes": "mine"}, expected_version=stale),
        lambda: api.update(iid, {"notes": "mine", "expected_version": stale}),
        lambda: api.advance_step(iid, 1, ticked(step), expected_version=stale),
        lambda: api.save_step_progress(iid, 1, {"notes": "x"}, expected_version=stale),
        lambda: api.pause(iid, expected_version=stale),
        lambda: api.cancel(iid, "Stop", expected_version=stale),
        lambda: api.finalize(iid, expected_version=stale),
        lambda: api.delete(iid, expected_version=stale),
    ):
        error = refused(services, call, "INTERVENTION_CONCURRENT_MODIFICATION", 409)
        assert (error.details["current_version"], error.details["expected_version"]) == (2, 1)
    api.pause(iid, expected_version=2)
    refused(
        services,
        lambda: api.resume(iid, expected_version=2),
        "INTERVENTION_CONCURRENT_MODIFICATION",
        409,
    )
    assert api.resume(iid, expected_version=3)["version"] == 4


# Another technician's intervention ------------------------------------------------------------
def test_a_technician_touching_another_technicians_intervention(shop: Shop) -> None:
    other = make_user(shop.admin, shop.server, "technician")
    try:
        iid, step = started(shop)
        set_photos(shop.server, iid, 1, 4)
        api = other.interventions
        for call in (
            lambda: api.advance_step(iid, 1, ticked(step)),
            lambda: api.save_step_progress(iid, 1, {"notes": "mine now"}),
            lambda: api.update(iid, {"notes": "mine now"}),
            lambda: api.pause(iid),
            lambda: api.cancel(iid, "Not mine"),
            lambda: api.finalize(iid),
            lambda: api.delete(iid),
        ):
            error = refused(shop.server.services, call, "AUTH_FORBIDDEN", 403)
            assert error.details["intervention_id"] == iid
        denied = [e for e in security_events(shop.server.services) if e[0] == "permission_denied"]
        assert denied == [("permission_denied", me(other))] * 7
        # Reading is open to every role.
        assert api.get(iid)["id"] == iid
        assert api.get_step(iid, 1)["photo_count"] == 4
        viewer = shop.viewer.interventions
        refused(shop.server.services, lambda: viewer.pause(iid), "AUTH_FORBIDDEN", 403)
    finally:
        other.close()


def test_get_for_photos(shop: Shop) -> None:
    """What the photos domain relies on: reads for anyone, writes for the task's
    technician (or staff) on an active intervention."""
    iid, _ = started(shop)
    done, last = at_last_step(shop)
    set_photos(shop.server, done, 3, 2)
    shop.technician.interventions.finalize(done, collected_data=ticked(last))

    def principal(user_id: str, role: Role) -> Principal:
        return Principal(user_id, role, "session", "x@shop.example", NOW_MS + 3_600_000)

    tech = principal(shop.tech_id, Role.TECHNICIAN)
    stranger = principal("someone-else", Role.TECHNICIAN)
    viewer = principal(me(shop.viewer), Role.VIEWER)
    supervisor = principal(me(shop.supervisor), Role.SUPERVISOR)
    with shop.server.services.db.session(write=True) as db:
        service = InterventionService(db)
        assert service.get_for_photos(iid, tech, write=True).id == iid
        assert service.get_for_photos(iid, supervisor, write=True).id == iid
        assert service.get_for_photos(iid, stranger, write=False).id == iid
        assert service.get_for_photos(done, viewer, write=False).id == done
        for actor in (stranger, viewer):
            with pytest.raises(AuthorizationError):
                service.get_for_photos(iid, actor, write=True)
        with pytest.raises(InterventionInvalidState):
            service.get_for_photos(done, tech, write=True)
        db.rollback()


def test_unknown_interventions(shop: Shop) -> None:
    api, services = shop.viewer.interventions, shop.server.services
    for call in (
        lambda: api.get("nope"),
        lambda: api.get_progress("nope"),
        lambda: api.get_step("nope", 1),
        lambda: shop.technician.interventions.pause("nope"),
    ):
        refused(services, call, "NOT_FOUND_INTERVENTION", 404)
    refused(services, lambda: api.get_active_by_task("nope"), "NOT_FOUND_TASK", 404)
    iid, _ = started(shop)
    refused(services, lambda: api.get_step(iid, 9), "INTERVENTION_STEP_NOT_FOUND", 400)


# Templates ------------------------------------------------------------------------------------
def definition(**changes: Any) -> dict[str, Any]:
    return {**DEFAULTS["detailing"].model_dump(mode="json"), **changes}


def step_def(**changes: Any) -> dict[str, Any]:
    base = DEFAULTS["detailing"].model_dump(mode="json")["steps"][0]
    return {**base, **changes}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (definition(steps=[]), "definition.steps"),
        (definition(steps=[step_def(), step_def()]), "definition.steps"),
        (definition(steps=[step_def(step_type="polishing")]), "definition.steps.0.step_type"),
        (definition(steps=[step_def(min_photos_required=-1)]), "definition.steps.0"),
        (
            definition(steps=[step_def(max_photos_allowed=1, min_photos_required=2)]),
            "definition.steps.0",
        ),
        (
            definition(
                steps=[step_def(checklist=[{"id": "a", "label": "A"}, {"id": "a", "label": "B"}])]
            ),
            "definition.steps.0.checklist",
        ),
        (definition(steps=[step_def(id="Bad Id")]), "definition.steps.0.id"),
        (definition(name=""), "definition.name"),
        (definition(colour="red"), "definition.colour"),
    ],
)
def test_template_definitions_are_validated(shop: Shop, body: dict[str, Any], field: str) -> None:
    error = refused(
        shop.server.services,
        lambda: shop.admin.interventions.update_template("detailing", body),
        "VALIDATION_ERROR",
        400,
    )
    assert all(f["field"].startswith(field) for f in error.details["fields"]), error.details


def test_only_an_admin_edits_templates(shop: Shop) -> None:
    body = definition()
    for client in (shop.supervisor, shop.technician, shop.viewer):
        refused(
            shop.server.services,
            lambda client=client: client.interventions.update_template("detailing", body),  # type: ignore[misc]
            "AUTH_FORBIDDEN",
            403,
        )
    refused(
        shop.server.services,
        lambda: shop.admin.interventions.update_template("wrap", body),
        "VALIDATION_ERROR",
    )
    shop.admin.interventions.update_template("detailing", body)
    refused(
        shop.server.services,
        lambda: shop.admin.interventions.update_template("detailing", body, expected_version=0),
        "CONFLICT",
        409,
    )
