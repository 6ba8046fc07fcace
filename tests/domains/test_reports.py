"""The report commands on a known workshop (report_fixtures.py): exact figures, the
technician's scope, and bad input refused with nothing changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rpma.app import build_services
from rpma.core.context import ClientInfo, CommandContext, Principal
from rpma.core.permissions import Role
from rpma.domains.reports.commands import get_task_completion_report
from rpma.domains.reports.schemas import ReportFilters
from tests.conftest import USER_PASSWORD, fast_settings
from tests.domains.report_fixtures import MARCH, Shop, frozen_clock, known_shop  # noqa: F401
from tests.helpers import refused


def march_trend(points: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"date": f"2024-03-{day:02d}", "count": points.get(f"2024-03-{day:02d}", 0)}
        for day in range(1, 32)
    ]


# Task completion -----------------------------------------------------------------------------
def test_task_completion_report_exact(shop: Shop) -> None:
    k = shop.known
    report = shop.supervisor.call("get_task_completion_report", MARCH)
    assert report == {
        "total_tasks": 7,
        "completed_tasks": 4,
        "completion_rate": 57.14,
        "average_duration": 136.67,
        "by_status": {
            "draft": 1,
            "scheduled": 0,
            "in_progress": 1,
            "paused": 0,
            "on_hold": 0,
            "completed": 3,
            "cancelled": 1,
            "archived": 1,
        },
        "by_technician": {k.tech1: 3, k.tech2: 3, "unassigned": 1},
        "trend": march_trend({"2024-03-04": 2, "2024-03-10": 1, "2024-03-20": 1}),
    }


def test_task_completion_filters_narrow_the_tasks(shop: Shop) -> None:
    k = shop.known
    by_client = shop.admin.call(
        "get_task_completion_report", {**MARCH, "filters": {"client_id": k.clients["C2"]}}
    )
    assert (by_client["total_tasks"], by_client["completed_tasks"]) == (2, 1)
    assert by_client["by_technician"] == {k.tech2: 2}
    by_status = shop.admin.call(
        "get_task_completion_report", {**MARCH, "filters": {"status": ["completed", "draft"]}}
    )
    assert by_status["total_tasks"] == 4
    assert by_status["completion_rate"] == 75.0
    assert by_status["average_duration"] == 160.0  # A and C (H has no duration)


def test_a_technician_sees_only_their_own_tasks(shop: Shop) -> None:
    k = shop.known
    mine = shop.technician.call("get_task_completion_report", MARCH)
    assert mine["total_tasks"] == 3  # A, B, H: E belongs to April in Paris
    assert mine["completion_rate"] == 100.0
    assert mine["average_duration"] == 105.0
    assert mine["by_technician"] == {k.tech1: 3}
    named = shop.technician.call(
        "get_task_completion_report", {**MARCH, "filters": {"technician_id": k.tech1}}
    )
    assert named == mine
    assert shop.technician.reports.task_completion("2024-03-01", "2024-03-31") == mine


@pytest.mark.parametrize(
    "command",
    [
        "get_task_completion_report",
        "get_technician_performance_report",
        "get_client_analytics_report",
    ],
)
def test_a_technician_asking_for_another_is_forbidden(shop: Shop, command: str) -> None:
    body = {**MARCH, "filters": {"technician_id": shop.known.tech2}}
    refused(
        shop.server.services, lambda: shop.technician.call(command, body), "AUTH_FORBIDDEN", 403
    )


# Technician performance ------------------------------------------------------------------------
def test_technician_performance_exact(shop: Shop) -> None:
    k = shop.known
    report = shop.viewer.call("get_technician_performance_report", MARCH)
    assert report == {
        "technicians": [
            {
                "technician_id": k.tech1,
                "technician_name": "Sam Technician",
                "tasks_completed": 3,
                "average_duration": 105.0,
                "quality_score": 80.0,
                "customer_satisfaction": 8.0,
                "on_time_rate": 66.67,  # B finished the next day
            },
            {
                "technician_id": k.tech2,
                "technician_name": "Tara Second",
                "tasks_completed": 1,
                "average_duration": 200.0,
                "quality_score": 85.0,
                "customer_satisfaction": 0.0,
                "on_time_rate": 0.0,  # C finished at 00:30 on the 11th, Paris time
            },
        ]
    }
    own = shop.technician.call("get_technician_performance_report", MARCH)
    assert own == {"technicians": [report["technicians"][0]]}


# Client analytics ------------------------------------------------------------------------------
def test_client_analytics_exact(shop: Shop) -> None:
    k = shop.known
    report = shop.admin.call("get_client_analytics_report", MARCH)
    assert report == {
        "total_clients": 4,  # C5 registered in April
        "new_clients": 2,
        "retention_rate": 33.33,  # of C1, C2, C3 only C1 had work before March
        "top_clients": [
            {
                "client_id": k.clients["C1"],
                "client_name": "Alice Martin",
                "task_count": 3,
                "total_value": 100.0,
            },
            {
                "client_id": k.clients["C2"],
                "client_name": "Prestige Autos",
                "task_count": 2,
                "total_value": 45.0,
            },
            {
                "client_id": k.clients["C3"],
                "client_name": "Bob Durand",
                "task_count": 2,
                "total_value": 0.0,
            },
        ],
        "geographic_distribution": [
            {"location": "Lyon", "count": 2},
            {"location": "Paris", "count": 1},
        ],
    }


def test_client_analytics_for_a_technician(shop: Shop) -> None:
    k = shop.known
    report = shop.technician.call("get_client_analytics_report", MARCH)
    assert report == {
        "total_clients": 2,  # C1 and C3, the clients they work for
        "new_clients": 1,
        "retention_rate": 100.0,
        "top_clients": [
            {
                "client_id": k.clients["C1"],
                "client_name": "Alice Martin",
                "task_count": 3,
                "total_value": 100.0,
            }
        ],
        "geographic_distribution": [{"location": "Lyon", "count": 1}],
    }


# Dashboard ---------------------------------------------------------------------------------------
def test_analytics_summary_exact(shop: Shop) -> None:
    k = shop.known
    summary = shop.supervisor.call("analytics_get_summary", MARCH)
    assert summary == {
        "tasks_completed": 4,
        "tasks_in_progress": 1,
        "interventions_completed": 3,
        "average_duration": 136.67,
        "quality_score_average": 81.67,
        "customer_satisfaction_average": 8.0,
        "material_usage": [
            {
                "material_id": k.materials["M1"],
                "material_name": "XPEL Ultimate Plus",
                "unit_of_measure": "meter",
                "quantity_used": 3.5,
                "waste_quantity": 0.5,
                "total_cost": 140.0,
            },
            {
                "material_id": k.materials["M2"],
                "material_name": "Mounting gel",
                "unit_of_measure": "liter",
                "quantity_used": 0.25,
                "waste_quantity": 0.0,
                "total_cost": 5.0,
            },
        ],
        "technician_performance": [
            {
                "technician_id": k.tech1,
                "technician_name": "Sam Technician",
                "tasks_completed": 3,
                "interventions_completed": 2,
                "average_duration": 95.0,
                "quality_score": 80.0,
            },
            {
                "technician_id": k.tech2,
                "technician_name": "Tara Second",
                "tasks_completed": 1,
                "interventions_completed": 1,
                "average_duration": 190.0,
                "quality_score": 85.0,
            },
        ],
    }


def test_analytics_summary_defaults_to_the_last_30_days(shop: Shop) -> None:
    # 12 March .. 10 April: H (20 March) is done, D in progress; IE started in April.
    summary = shop.admin.call("analytics_get_summary", {})
    assert summary["tasks_completed"] == 1
    assert summary["tasks_in_progress"] == 1
    assert summary["interventions_completed"] == 0


def test_entity_counts(shop: Shop) -> None:
    assert shop.viewer.reports.entity_counts() == {
        "tasks": 10,  # I is deleted
        "interventions": 6,
        "clients": 5,
        "users": 5,
        "materials": 2,
        "photos": 0,
    }


# Bad input -------------------------------------------------------------------------------------
def test_an_empty_range_is_a_valid_empty_report(shop: Shop) -> None:
    day = {"date_range": {"start": "2023-06-01", "end": "2023-06-01"}}
    assert shop.admin.call("get_task_completion_report", day) == {
        "total_tasks": 0,
        "completed_tasks": 0,
        "completion_rate": 0.0,
        "average_duration": 0.0,
        "by_status": dict.fromkeys(
            [
                "draft",
                "scheduled",
                "in_progress",
                "paused",
                "on_hold",
                "completed",
                "cancelled",
                "archived",
            ],
            0,
        ),
        "by_technician": {},
        "trend": [{"date": "2023-06-01", "count": 0}],
    }
    performance = shop.admin.call("get_technician_performance_report", day)
    assert [row["tasks_completed"] for row in performance["technicians"]] == [0, 0]
    assert shop.admin.call("get_client_analytics_report", day) == {
        "total_clients": 0,
        "new_clients": 0,
        "retention_rate": 0.0,
        "top_clients": [],
        "geographic_distribution": [],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date_range": {"start": "2024-03-31", "end": "2024-03-01"}}, "date_range"),
        ({"date_range": {"start": "2019-01-01", "end": "2024-01-01"}}, "date_range"),
        ({"date_range": {"start": "2024-02-30", "end": "2024-03-01"}}, "date_range.start"),
        ({"date_range": {"start": "2024-03-01", "end": "31/03/2024"}}, "date_range.end"),
        ({"date_range": {"start": 20240301, "end": "2024-03-31"}}, "date_range.start"),
        ({}, "date_range"),
        ({**MARCH, "filters": {"status": ["finished"]}}, "filters.status.0"),
    ],
)
def test_bad_ranges_are_validation_errors(shop: Shop, body: dict[str, Any], field: str) -> None:
    error = refused(
        shop.server.services,
        lambda: shop.admin.call("get_task_completion_report", body),
        "VALIDATION_ERROR",
        400,
    )
    assert [item["field"] for item in error.details["fields"]] == [field]


def test_five_years_is_the_longest_range(shop: Shop) -> None:
    body = {"date_range": {"start": "2019-01-01", "end": "2023-12-31"}}
    report = shop.admin.call("get_task_completion_report", body)
    assert len(report["trend"]) == 1826
    assert report["total_tasks"] == 0


# Caching ---------------------------------------------------------------------------------------
def test_reports_are_cached_until_a_write(shop: Shop) -> None:
    cache = shop.server.services.cache
    first = shop.admin.call("get_task_completion_report", MARCH)
    misses = cache.stats().misses
    assert shop.supervisor.call("get_task_completion_report", MARCH) == first  # same scope
    shop.admin.call("task_crud", {"action": "List", "filters": {}})  # a read writes nothing
    assert shop.admin.call("get_task_completion_report", MARCH) == first
    assert cache.stats().misses == misses
    shop.admin.call(
        "task_crud",
        {
            "action": "Create",
            "data": {
                "vehicle_plate": "ZZ-999-ZZ",
                "title": "Late booking",
                "scheduled_date": "2024-03-15",
            },
        },
    )
    after = shop.admin.call("get_task_completion_report", MARCH)
    assert cache.stats().misses == misses + 1
    assert after["total_tasks"] == 8
    assert after["by_status"]["scheduled"] == 1


def test_a_technicians_report_is_cached_apart(shop: Shop) -> None:
    everyone = shop.admin.call("get_task_completion_report", MARCH)
    own = shop.technician.call("get_task_completion_report", MARCH)
    assert (everyone["total_tasks"], own["total_tasks"]) == (7, 3)


def test_a_sign_in_keeps_the_figures_cached_and_names_stay_fresh(shop: Shop) -> None:
    cache = shop.server.services.cache
    before = shop.admin.call("get_technician_performance_report", MARCH)
    misses = cache.stats().misses
    with shop.server.client() as again:  # a sign-in writes users and sessions
        again.auth.login("tara@shop.example", USER_PASSWORD)
    shop.admin.call(
        "user_crud",
        {"action": "Update", "data": {"id": shop.known.tech2, "first_name": "Tamara"}},
    )
    after = shop.admin.call("get_technician_performance_report", MARCH)
    assert cache.stats().misses == misses
    assert after["technicians"][1] == {
        **before["technicians"][1],
        "technician_name": "Tamara Second",
    }
    summary = shop.admin.call("analytics_get_summary", MARCH)
    assert [p["technician_name"] for p in summary["technician_performance"]] == [
        "Sam Technician",
        "Tamara Second",
    ]


def test_reports_on_an_in_memory_database(tmp_path: Path) -> None:
    """One shared connection: the figures are read in the caller's transaction."""
    services = build_services(fast_settings(tmp_path, database_url="sqlite://"))
    admin = Principal("admin-id", Role.ADMIN, "session", "a@shop.example", 0)
    try:
        for _ in range(2):
            with services.db.session(write=False) as db:
                ctx = CommandContext(db, services, ClientInfo(), "req_test", principal=admin)
                report = get_task_completion_report(ctx, ReportFilters.model_validate(MARCH))
                db.commit()
            assert report.total_tasks == 0
        assert (services.cache.stats().misses, services.cache.stats().hits) == (1, 1)
    finally:
        services.db.dispose()
