"""The reports benchmark's dataset and floors: one year of a busy shop, and the main
aggregate query of each report asked of the same SQLite file with the bare `sqlite3`.

The workshop is `rpma.demo.build_demo`'s (through `bench.jobbook_sql.build_dataset`:
tasks, clients, technicians, the first account), 365 days back; interventions, their
steps, materials and consumptions are added here in bulk through the models. The
database is kept in a temporary folder between runs (the same seed gives the same
workshop), and each run works on a copy.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import insert

from bench.jobbook_sql import build_dataset
from rpma.app import build_services
from rpma.config import Settings
from rpma.demo import DemoSize
from rpma.domains.interventions.models import Intervention, InterventionStep
from rpma.domains.materials.models import Material, MaterialConsumption

DATASET_VERSION: Final = "reports-v1"
SIZE: Final = DemoSize(
    technicians=20, clients=10_000, tasks=100_000, days_back=365, days_ahead=0, seed=42
)
QUICK_SIZE: Final = DemoSize(
    technicians=5, clients=500, tasks=5_000, days_back=365, days_ahead=0, seed=42
)
INTERVENTION_SHARE: Final = 0.6  # 60,000 of 100,000 tasks
STEPS: Final = (("inspection", 2), ("installation", 4), ("finalization", 2))
MATERIALS: Final = 40
OWNER: Final = {
    "email": "owner@reports.example",
    "first_name": "Olive",
    "last_name": "Owner",
    "password": "Workshop-Boss-2024",
}
_DONE: Final = ("completed", "archived")


@dataclass(frozen=True)
class Dataset:
    database: Path
    tasks: int
    interventions: int
    steps: int
    consumptions: int
    clients: int
    technicians: int
    build_seconds: float
    size_mb: float
    first_day: str
    last_day: str


def _batches(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _audit(at: int) -> dict[str, Any]:
    return {"created_at": at, "updated_at": at, "created_by": None, "updated_by": None}


def _work(data_dir: Path, size: DemoSize) -> tuple[int, int, int]:
    """Interventions for 60% of the finished or running tasks, three steps each, forty
    materials and one consumption per intervention."""
    rng = random.Random(f"{size.seed}-reports")
    conn = sqlite3.connect(data_dir / "rpma.db")
    tasks = conn.execute(
        "SELECT id, technician_id, client_id, scheduled_date, status, actual_duration "
        "FROM tasks WHERE status IN ('completed', 'archived', 'in_progress', 'paused') "
        "ORDER BY id"
    ).fetchall()
    conn.close()
    chosen = rng.sample(tasks, min(len(tasks), int(size.tasks * INTERVENTION_SHARE)))
    materials = [
        {
            "id": str(uuid.uuid4()),
            "sku": f"MAT-{n:03d}",
            "name": f"{rng.choice(['XPEL', 'SunTek', '3M', 'Llumar'])} film {n}",
            "material_type": "ppf_film" if n % 4 else "adhesive",
            "unit_of_measure": "meter" if n % 4 else "liter",
            "current_stock_milli": 1_000_000_000,
            "minimum_stock_milli": 0,
            "unit_cost_cents": rng.randint(500, 9000),
            "currency": "EUR",
            "serial_numbers": [],
            "is_active": True,
            "is_discontinued": False,
            "version": 1,
            **_audit(0),
        }
        for n in range(MATERIALS)
    ]
    interventions, steps, consumptions = [], [], []
    for task_id, technician, client, scheduled, status, actual in chosen:
        day = datetime.fromisoformat(scheduled).replace(tzinfo=UTC)
        started = int((day + timedelta(minutes=480 + rng.randrange(240))).timestamp() * 1000)
        done = status in _DONE
        gps = rng.random() < 0.4
        intervention_id = str(uuid.uuid4())
        interventions.append(
            {
                "id": intervention_id,
                "task_id": task_id,
                "intervention_type": "ppf",
                "status": "completed" if done else "in_progress",
                "technician_id": technician,
                "template_key": "ppf_standard",
                "client_id": client,
                "ppf_zones": ["hood"],
                "final_observations": [],
                "started_at": started,
                "completed_at": started + (actual or 120) * 60_000 if done else None,
                "actual_duration": actual if done else None,
                "quality_score": rng.randint(55, 100) if done else None,
                "customer_satisfaction": rng.choice([None, 6, 7, 8, 9, 10]) if done else None,
                "start_latitude": 45.0 + rng.random() if gps else None,
                "start_longitude": 4.0 + rng.random() if gps else None,
                "paused_seconds": 0,
                "current_step": 3,
                "total_steps": 3,
                "completion_percentage": 100.0 if done else 33.3,
                "version": 1,
                **_audit(started),
            }
        )
        for number, (kind, minimum) in enumerate(STEPS, start=1):
            steps.append(
                {
                    "id": str(uuid.uuid4()),
                    "intervention_id": intervention_id,
                    "step_number": number,
                    "step_name": kind.title(),
                    "step_type": kind,
                    "status": "completed" if done or number == 1 else "pending",
                    "is_mandatory": True,
                    "min_photos_required": minimum,
                    "max_photos_allowed": 50,
                    "photo_count": minimum - (1 if rng.random() < 0.05 else 0),
                    "checklist": [],
                    "quality_checkpoints": [],
                    "collected_data": {},
                    **_audit(started),
                }
            )
        material = rng.choice(materials)
        used = rng.randint(500, 6000)
        consumptions.append(
            {
                "id": str(uuid.uuid4()),
                "intervention_id": intervention_id,
                "task_id": task_id,
                "material_id": material["id"],
                "quantity_used_milli": used,
                "waste_quantity_milli": used // 10,
                "unit_cost_cents": material["unit_cost_cents"],
                "total_cost_cents": used * material["unit_cost_cents"] // 1000,
                "currency": "EUR",
                "recorded_at": started,
                **_audit(started),
            }
        )
    services = build_services(Settings(data_dir=data_dir, database_url=None), migrate=False)
    try:
        with services.db.session(write=True) as db:
            db.execute(insert(Material), materials)
            for model, rows in (
                (Intervention, interventions),
                (InterventionStep, steps),
                (MaterialConsumption, consumptions),
            ):
                for batch in _batches(rows):
                    db.execute(insert(model), batch)
            db.commit()
    finally:
        services.db.dispose()
    return len(interventions), len(steps), len(consumptions)


def dataset(quick: bool, progress: Callable[[str], None]) -> tuple[Dataset, Path]:
    """The cached dataset (built on first use) and a working copy's data directory."""
    size = QUICK_SIZE if quick else SIZE
    home = Path(tempfile.gettempdir()) / f"rpma-bench-{DATASET_VERSION}-{size.tasks}"
    marker = home / "dataset.json"
    if not marker.exists():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        progress(f"building the dataset in {home} (once)")
        began = time.perf_counter()
        built = build_dataset(home, size, OWNER, lambda _what, _n: None)
        interventions, steps, consumptions = _work(home, size)
        with sqlite3.connect(built.database) as conn:
            first, last = conn.execute(
                "SELECT min(scheduled_date), max(scheduled_date) FROM tasks"
            ).fetchone()
        conn.close()
        info = Dataset(
            built.database,
            built.tasks,
            interventions,
            steps,
            consumptions,
            len(built.clients),
            len(built.technicians),
            time.perf_counter() - began,
            built.database.stat().st_size / 1e6,
            first,
            last,
        )
        marker.write_text(json.dumps({**asdict(info), "database": str(info.database)}))
    raw = json.loads(marker.read_text())
    info = Dataset(**{**raw, "database": Path(raw["database"])})
    work = Path(tempfile.mkdtemp(prefix="rpma-reports-"))
    shutil.copy2(info.database, work / "rpma.db")
    return info, work


# Floors ---------------------------------------------------------------------------------------
def _midnight_ms(day: date) -> int:
    """The shop of the benchmark keeps the default time zone, UTC."""
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp() * 1000)


def _range_args(start: date, end: date) -> tuple[str, str, int, int]:
    return start.isoformat(), end.isoformat(), _midnight_ms(start), _midnight_ms(end) + 86_400_000


_TASKS_IN_RANGE: Final = (
    "t.deleted_at IS NULL AND ((t.scheduled_date BETWEEN ? AND ?) "
    "OR (t.scheduled_date IS NULL AND t.created_at >= ? AND t.created_at < ?))"
)
_INTERVENTIONS_IN_RANGE: Final = "i.deleted_at IS NULL AND i.started_at >= ? AND i.started_at < ?"

FLOORS: Final[dict[str, tuple[str, str]]] = {
    "tasks_by_status": (
        "tasks by status and technician",
        "SELECT t.status, t.technician_id, count(*), sum(t.actual_duration), "  # noqa: S608 - fixed text
        f"count(t.actual_duration) FROM tasks t WHERE {_TASKS_IN_RANGE} "
        "GROUP BY t.status, t.technician_id",
    ),
    "done_by_technician": (
        "done tasks by technician, on time",
        "SELECT t.technician_id, count(*), sum(t.actual_duration), count(t.actual_duration), "  # noqa: S608 - fixed text
        "sum(CASE WHEN t.completed_at IS NULL OR t.scheduled_date IS NULL OR "
        "(t.completed_at / 86400000) <= CAST(julianday(t.scheduled_date) - 2440587.5 AS INTEGER)"
        f" THEN 1 ELSE 0 END) FROM tasks t WHERE {_TASKS_IN_RANGE} "
        "AND t.status IN ('completed', 'archived') AND t.technician_id IS NOT NULL "
        "GROUP BY t.technician_id",
    ),
    "top_clients": (
        "tasks by client, top 10",
        f"SELECT t.client_id, count(*) AS n FROM tasks t WHERE {_TASKS_IN_RANGE} "  # noqa: S608 - fixed text
        "AND t.client_id IS NOT NULL GROUP BY t.client_id ORDER BY n DESC, t.client_id LIMIT 10",
    ),
    "steps_by_type": (
        "steps by type (join interventions)",
        "SELECT s.step_type, count(*), sum(s.status = 'completed') FROM intervention_steps s "  # noqa: S608 - fixed text
        f"JOIN interventions i ON i.id = s.intervention_id WHERE {_INTERVENTIONS_IN_RANGE} "
        "GROUP BY s.step_type",
    ),
    "usage_by_material": (
        "consumption by material (join interventions, materials)",
        "SELECT m.id, m.name, count(*), sum(c.quantity_used_milli), sum(c.total_cost_cents) "  # noqa: S608 - fixed text
        "FROM material_consumptions c JOIN interventions i ON i.id = c.intervention_id "
        f"JOIN materials m ON m.id = c.material_id WHERE {_INTERVENTIONS_IN_RANGE} "
        "GROUP BY m.id, m.name",
    ),
    "tasks_by_city": (
        "tasks by client city (join clients)",
        "SELECT coalesce(c.address_city, ''), count(DISTINCT t.client_id), count(*) "  # noqa: S608 - fixed text
        f"FROM tasks t JOIN clients c ON c.id = t.client_id WHERE {_TASKS_IN_RANGE} "
        "GROUP BY 1",
    ),
    "count_tasks": ("count of live tasks", "SELECT count(*) FROM tasks WHERE deleted_at IS NULL"),
}


def floor_args(key: str, start: date, end: date) -> tuple[Any, ...]:
    if key == "count_tasks":
        return ()
    args = _range_args(start, end)
    if key in {"steps_by_type", "usage_by_material"}:
        return args[2:]
    return args


def time_floor(database: Path, key: str, start: date, end: date, runs: int) -> list[float]:
    """Milliseconds of each run of the floor query, on a plain connection."""
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode=WAL")
    sql = FLOORS[key][1]
    args = floor_args(key, start, end)
    conn.execute(sql, args).fetchall()  # warm the page cache as the server's is
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        conn.execute(sql, args).fetchall()
        samples.append((time.perf_counter() - began) * 1000)
    conn.close()
    return samples
