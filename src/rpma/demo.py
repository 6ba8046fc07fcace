"""A realistic workshop for `rpma demo` and the benchmarks: technicians, clients and
tasks spread over past and coming weeks, written in bulk straight through the models.
With ``DemoSize.interventions`` (`rpma demo` asks for 40; the benchmarks for none), some
of those tasks also get interventions in every state, worked through the domain
services with real photos (demo_interventions.py).

Deterministic for a given seed, so a benchmark's dataset is the same in every run.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.security import Passwords
from rpma.domains.clients.models import Client
from rpma.domains.tasks.models import Task, TaskHistory, TaskNumberCounter
from rpma.domains.users.models import User

if TYPE_CHECKING:
    from rpma.core.services import Services
    from rpma.demo_interventions import OnRollback, Planned

DEMO_PASSWORD = "Demo-Workshop-2024"
FIRST = [
    "Lucas",
    "Emma",
    "Noah",
    "Léa",
    "Hugo",
    "Chloé",
    "Louis",
    "Manon",
    "Jules",
    "Inès",
    "Adam",
    "Camille",
    "Arthur",
    "Sarah",
    "Nathan",
    "Zoé",
    "Paul",
    "Alice",
    "Tom",
    "Eva",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "Roux",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "O'Brien",
    "Muller",
    "Rossi",
    "Silva",
]
COMPANIES = [
    "Prestige Autos",
    "Riviera Car Rental",
    "Atelier Sportif",
    "Fleet & Co",
    "Luxe Motors",
    "Garage du Parc",
    "Alpine Detailing",
    "Taxi Central",
]
CITIES = [
    "Lyon",
    "Paris",
    "Marseille",
    "Nice",
    "Bordeaux",
    "Lille",
    "Nantes",
    "Toulouse",
    "Geneva",
    "Annecy",
    "Grenoble",
    "Montpellier",
]
CARS = [
    ("Porsche", "911"),
    ("Tesla", "Model 3"),
    ("Tesla", "Model Y"),
    ("BMW", "M3"),
    ("Audi", "RS6"),
    ("Mercedes", "AMG GT"),
    ("Toyota", "GR Yaris"),
    ("Renault", "Alpine A110"),
    ("Volkswagen", "Golf R"),
    ("Ford", "Mustang"),
    ("Range Rover", "Sport"),
    ("Mazda", "MX-5"),
]
COLORS = ["black", "white", "grey", "silver", "blue", "red", "green", "yellow"]
ZONE_SETS = [
    ["hood", "front_bumper", "front_fenders", "side_mirrors"],
    ["full_front"],
    ["full_vehicle"],
    ["hood", "front_bumper"],
    ["door_handles", "rocker_panels"],
    ["rear_bumper", "trunk_lid"],
    ["headlights"],
    ["roof", "a_pillars"],
]
FILMS = ["standard", "premium", "matte", "colored"]
SLOTS = [
    ("08:00", "10:00", 120),
    ("08:30", "12:30", 240),
    ("10:00", "12:00", 120),
    ("13:00", "15:00", 120),
    ("13:30", "17:30", 240),
    ("15:00", "18:00", 180),
]


@dataclass(frozen=True)
class DemoSize:
    technicians: int = 5
    clients: int = 60
    tasks: int = 400
    days_back: int = 120
    days_ahead: int = 30
    seed: int = 42
    # Interventions worked through the services (needs build_demo's ``services``).
    interventions: int = 0


@dataclass
class DemoResult:
    technicians: int
    clients: int
    tasks: int
    by_status: dict[str, int]
    interventions: dict[str, int] = field(default_factory=dict)  # by status
    photos: int = 0
    materials: int = 0
    calendar_events: int = 0


Progress = Callable[[str, int], None]


def _status_for(day: date, today: date, rng: random.Random) -> str:
    if day < today - timedelta(days=30):
        return rng.choices(["archived", "completed", "cancelled"], [5, 4, 1])[0]
    if day < today:
        return rng.choices(["completed", "cancelled", "on_hold"], [12, 1, 1])[0]
    if day == today:
        return rng.choices(["in_progress", "paused", "scheduled", "completed"], [4, 1, 3, 2])[0]
    return rng.choices(["scheduled", "on_hold"], [12, 1])[0]


def _plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPQRSTVWXYZ"
    return (
        f"{rng.choice(letters)}{rng.choice(letters)}-{rng.randint(100, 999)}-"
        f"{rng.choice(letters)}{rng.choice(letters)}"
    )


def _batches(rows: list[dict[str, Any]], size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class DemoBuilder:
    def __init__(self, db: Session, passwords: Passwords, size: DemoSize) -> None:
        self.db = db
        self.passwords = passwords
        self.size = size
        self.rng = random.Random(size.seed)
        self.now_ms = clock.now_ms()
        self.today = clock.now().date()
        self.emails: dict[str, str] = {}
        # The tasks kept for interventions (written as scheduled; see tasks()).
        self.planned: list[Planned] = []

    def _audit(self, actor: str | None) -> dict[str, Any]:
        return {
            "created_at": self.now_ms,
            "updated_at": self.now_ms,
            "created_by": actor,
            "updated_by": actor,
        }

    def technicians(self, actor: str | None) -> list[str]:
        # One hash for all: every demo technician shares the printed demo password.
        password_hash = self.passwords.hash(DEMO_PASSWORD)
        rows = []
        for index in range(self.size.technicians):
            first, last = FIRST[index % len(FIRST)], LAST[index % len(LAST)]
            tag = uuid.uuid4().hex[:6]
            rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "email": f"tech{index + 1}.{tag}@demo.rpma",
                    "username": f"tech{index + 1}-{tag}",
                    "first_name": first,
                    "last_name": last,
                    "role": "technician",
                    "phone": None,
                    "is_active": True,
                    "password_hash": password_hash,
                    "two_factor_enabled": False,
                    "failed_login_attempts": 0,
                    "version": 1,
                    **self._audit(actor),
                }
            )
        if rows:
            self.db.execute(insert(User), rows)
        self.emails = {row["id"]: row["email"] for row in rows}
        return [row["id"] for row in rows]

    def clients(self, actor: str | None, progress: Progress) -> list[str]:
        rows = []
        run = uuid.uuid4().hex[:6]  # emails are unique: a second demo run gets new ones
        for index in range(self.size.clients):
            business = self.rng.random() < 0.25
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            company = f"{self.rng.choice(COMPANIES)} {self.rng.choice(CITIES)}"
            rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "name": company if business else f"{first} {last}",
                    "email": f"client{index + 1}.{run}@example.com",
                    "phone": f"+33 6 {self.rng.randint(10, 99)} {self.rng.randint(10, 99)} "
                    f"{self.rng.randint(10, 99)} {self.rng.randint(10, 99)}",
                    "customer_type": "business" if business else "individual",
                    "company_name": company if business else None,
                    "contact_person": f"{first} {last}" if business else None,
                    "address_city": self.rng.choice(CITIES),
                    "address_country": "France",
                    "notes": self.rng.choice(
                        [
                            None,
                            "Prefers morning drop-off",
                            "Fleet account",
                            "Returning customer",
                            "Ceramic coating last year",
                        ]
                    ),
                    "tags": self.rng.choice([[], ["vip"], ["fleet"], ["referral"]]),
                    "version": 1,
                    **self._audit(actor),
                }
            )
        for batch in _batches(rows):
            self.db.execute(insert(Client), batch)
            progress("clients", len(batch))
        return [row["id"] for row in rows]

    def tasks(
        self, actor: str | None, technicians: list[str], clients: list[str], progress: Progress
    ) -> Counter[str]:
        size, rng = self.size, self.rng
        span = size.days_back + size.days_ahead + 1
        numbers: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        rows, history = [], []
        for _ in range(size.tasks):
            day = self.today + timedelta(days=rng.randrange(span) - size.days_back)
            status = _status_for(day, self.today, rng)
            make, model = rng.choice(CARS)
            plate = _plate(rng)
            start, end, minutes = rng.choice(SLOTS)
            created = day - timedelta(days=rng.randint(1, 20))
            key = created.strftime("%Y%m%d")
            numbers[key] += 1
            task_id = str(uuid.uuid4())
            done = status in {"completed", "archived"}
            day_ms = int(
                (
                    clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
                    + timedelta(days=(day - self.today).days)
                ).timestamp()
                * 1000
            )
            started = day_ms + 8 * 3600_000 if status not in {"scheduled", "draft"} else None
            actual = minutes + rng.randint(-30, 60) if done else None
            rows.append(
                {
                    "id": task_id,
                    "task_number": f"{key}-{numbers[key]:03d}",
                    "title": f"{make} {model} ({plate})",
                    "vehicle_plate": plate,
                    "vehicle_make": make,
                    "vehicle_model": model,
                    "vehicle_year": rng.randint(2015, self.today.year),
                    "vehicle_color": rng.choice(COLORS),
                    "ppf_zones": rng.choice(ZONE_SETS),
                    "film_type": rng.choice(FILMS),
                    "status": status,
                    "priority": rng.choices(["low", "medium", "high", "urgent"], [2, 6, 3, 1])[0],
                    "client_id": rng.choice(clients) if clients else None,
                    "technician_id": rng.choice(technicians) if technicians else None,
                    "assigned_at": self.now_ms if technicians else None,
                    "assigned_by": actor,
                    "scheduled_date": day,
                    "start_time": start,
                    "end_time": end,
                    "estimated_duration": minutes,
                    "actual_duration": actual,
                    "started_at": started,
                    "completed_at": started + (actual or 0) * 60_000 if done and started else None,
                    "notes": None,
                    "tags": [],
                    "version": 1,
                    **self._audit(actor),
                    # Created on its number's day (spread over office hours), as a real
                    # job book is: one shared instant would make "newest first" a tie.
                    "created_at": min(
                        self.now_ms,
                        day_ms
                        - (day - created).days * 86_400_000
                        + rng.randrange(8, 18) * 3_600_000,
                    ),
                }
            )
        if size.interventions:
            from rpma.demo_interventions import plan

            # Its own generator: the workshop itself is the same with or without them.
            picker = random.Random(f"{size.seed}-interventions")
            self.planned = plan(rows, size.interventions, self.today, picker)
        kept = {planned.task_id for planned in self.planned}
        for row in rows:
            history.append(
                {
                    "id": str(uuid.uuid4()),
                    "task_id": row["id"],
                    # A task kept for an intervention is created scheduled; the
                    # workflow writes its next moves.
                    "old_status": None if row["id"] in kept else "scheduled",
                    "new_status": row["status"],
                    "reason": "demo data",
                    "changed_by": actor,
                    "changed_at": self.now_ms,
                }
            )
            if row["id"] not in kept:  # counted once its intervention has run
                statuses[row["status"]] += 1
        offsets = self._reserve_numbers(numbers)
        for row in rows:
            day, _, n = row["task_number"].partition("-")
            row["task_number"] = f"{day}-{offsets[day] + int(n):03d}"
        for batch, events in zip(_batches(rows), _batches(history), strict=True):
            self.db.execute(insert(Task), batch)
            self.db.execute(insert(TaskHistory), events)
            progress("tasks", len(batch))
        return statuses

    def _reserve_numbers(self, numbers: Counter[str]) -> dict[str, int]:
        """Move each day's counter past the demo's numbers; answer where each day starts,
        so demo tasks never take a number a real task already has."""
        days = list(numbers)
        existing = {
            row.day: row
            for start in range(0, len(days), 500)
            for row in self.db.scalars(
                select(TaskNumberCounter).where(
                    TaskNumberCounter.day.in_(days[start : start + 500])
                )
            )
        }
        offsets: dict[str, int] = {}
        for day, count in numbers.items():
            counter = existing.get(day)
            offsets[day] = counter.last_number if counter else 0
            if counter:
                counter.last_number += count
            else:
                self.db.add(TaskNumberCounter(day=day, last_number=count))
        self.db.flush()
        return offsets


def build_demo(
    db: Session,
    passwords: Passwords,
    size: DemoSize,
    progress: Progress,
    actor: str | None,
    *,
    services: Services | None = None,
    on_rollback: OnRollback | None = None,
) -> DemoResult:
    """Write a demo workshop in the caller's transaction. Interventions
    (``size.interventions``) need the server's ``services``; their photo files are
    written at once, and ``on_rollback`` receives how to remove them should the
    transaction not commit."""
    if size.interventions and services is None:
        raise ValueError("demo interventions need the server's services")
    builder = DemoBuilder(db, passwords, size)
    technicians = builder.technicians(actor)
    progress("technicians", len(technicians))
    clients = builder.clients(actor, progress)
    statuses = builder.tasks(actor, technicians, clients, progress)
    result = DemoResult(len(technicians), len(clients), size.tasks, {})
    if builder.planned and services is not None:
        from rpma.demo_interventions import DemoInterventions

        rng = random.Random(f"{size.seed}-workflows")
        work = DemoInterventions(db, services, rng, emails=builder.emails, on_rollback=on_rollback)
        done = work.run(builder.planned, progress)
        statuses.update(done.task_statuses)
        result.interventions = dict(done.by_outcome)
        result.photos = done.photos
    from rpma.demo_materials import add_demo_materials  # materials, ledger, consumption

    result.materials = add_demo_materials(db, size.seed, actor)
    from rpma.demo_calendar import add_demo_calendar  # a month of calendar

    result.calendar_events = add_demo_calendar(db, technicians, size.seed, actor)
    result.by_status = dict(statuses)
    return result
