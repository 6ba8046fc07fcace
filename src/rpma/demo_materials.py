"""Materials for `rpma demo`: a PPF shop's stock room, four months of its ledger
(opening stock, deliveries, counts, waste) and the material used on the demo's
interventions.

Everything goes through ``StockLedger``, in time order, so the demo keeps the ledger's
rules: each balance is the sum of its rows and never went below zero (a delivery
arrives whenever a job needs more than is on the shelf). Consumption is written as the
record of work already done, so the rules that guard a live
``material_record_consumption`` (intervention still open, material usable) do not apply
to it; one material is expired and one discontinued, as a real stock room has.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.domains.interventions.models import Intervention, InterventionStep
from rpma.domains.materials.errors import InsufficientStock
from rpma.domains.materials.ledger import Movement, Reference, StockLedger
from rpma.domains.materials.models import Material, MaterialConsumption
from rpma.domains.materials.quantities import QTY_SCALE, cost_cents

DAY_MS: Final = 86_400_000
HISTORY_DAYS: Final = 120


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    material_type: str
    category: str
    brand: str
    unit: str
    unit_cost: float
    opening: float
    minimum: float
    reorder_point: float | None
    delivery: float  # what one delivery brings
    per_job: float  # used on one intervention (0: not used on jobs)


# fmt: off
CATALOGUE: Final = (
    Item("XP-UP-60", "XPEL Ultimate Plus 60in", "ppf_film", "film", "XPEL", "meter",
         48.5, 45, 10, 15, 30, 2.5),
    Item("XP-ST-60", "XPEL Stealth matte 60in", "ppf_film", "film", "XPEL", "meter",
         55.0, 20, 5, 8, 15, 2.0),
    Item("3M-PRO-60", "3M Scotchgard Pro Series 60in", "ppf_film", "film", "3M", "meter",
         39.9, 30, 10, None, 25, 2.2),
    Item("ST-ULT-30", "SunTek Ultra 30in roll", "ppf_film", "film", "SunTek", "roll",
         690.0, 3, 1, 2, 2, 0),
    Item("SLIP-5L", "Slip solution concentrate 5 L", "cleaning_solution", "solutions",
         "Rpma", "liter", 6.4, 20, 5, 8, 20, 0.25),
    Item("TACK-1L", "Tack solution 1 L", "cleaning_solution", "solutions", "Rpma", "liter",
         9.9, 8, 2, 3, 6, 0.1),
    Item("IPA-70", "Isopropyl alcohol 70%", "cleaning_solution", "solutions", "Würth",
         "liter", 4.2, 15, 4, None, 10, 0.2),
    Item("EDGE-SEAL", "Edge sealer pen", "adhesive", "adhesives", "XPEL", "piece", 14.9, 12,
         4, 5, 10, 0.5),
    Item("BLADE-30", "Snap-off blades 30 deg (pack of 10)", "consumable", "cutting", "Olfa",
         "piece", 7.8, 40, 10, 15, 30, 1),
    Item("MF-TOWEL", "Microfiber towels", "consumable", "cleaning", "Rpma", "piece", 1.9, 80,
         20, None, 50, 2),
    Item("SQ-BLUE", "Blue max squeegee", "tool", "tools", "XPEL", "piece", 5.5, 10, 3, None,
         10, 0),
    Item("CER-9H", "Ceramic coating 9H 50 ml", "consumable", "ceramic", "Gtechniq",
         "piece", 59.0, 6, 2, 3, 6, 0),
)
# fmt: on
# One material past its expiry date, one the supplier no longer makes.
EXPIRED_SKU: Final = "TACK-1L"
DISCONTINUED_SKU: Final = "3M-PRO-60"


@dataclass(frozen=True)
class Job:
    """A demo intervention that used material."""

    intervention_id: str
    task_id: str
    technician_id: str | None
    step_id: str | None
    at: int


class DemoMaterials:
    def __init__(self, db: Session, rng: random.Random, actor: str | None) -> None:
        self.db = db
        self.rng = rng
        self.actor = actor
        self.ledger = StockLedger(db, actor)

    def run(self) -> int:
        """Write the catalogue, its history and the jobs' consumption; the number of
        materials (none when the stock room is there already: `rpma demo --force`)."""
        skus = [item.sku for item in CATALOGUE]
        if self.db.scalar(select(Material.id).where(Material.sku.in_(skus)).limit(1)):
            return 0
        now = clock.now_ms()
        start = now - HISTORY_DAYS * DAY_MS
        ledger = self.ledger
        materials = {item.sku: self._material(item, start, now) for item in CATALOGUE}
        self.db.add_all(materials.values())
        self.db.flush()
        for item in CATALOGUE:
            ledger.move(
                materials[item.sku].id,
                [Movement("stock_in", _milli(item.opening), "opening stock")],
                Reference("initial"),
                at=start,
            )
        self._history(materials, start, now)
        self._consumption(materials, now)
        return len(materials)

    def _material(self, item: Item, start: int, now: int) -> Material:
        expiry = now - 3 * DAY_MS if item.sku == EXPIRED_SKU else None
        if expiry is None and item.material_type in ("cleaning_solution", "adhesive"):
            expiry = now + self.rng.randint(60, 400) * DAY_MS
        return Material(
            id=str(uuid.uuid4()),
            sku=item.sku,
            name=item.name,
            material_type=item.material_type,
            category=item.category,
            brand=item.brand,
            unit_of_measure=item.unit,
            current_stock_milli=0,
            minimum_stock_milli=_milli(item.minimum),
            reorder_point_milli=None if item.reorder_point is None else _milli(item.reorder_point),
            maximum_stock_milli=_milli(item.opening * 3),
            unit_cost_cents=round(item.unit_cost * 100),
            currency="EUR",
            expiry_date=expiry,
            batch_number=f"B{self.rng.randint(10000, 99999)}",
            serial_numbers=[],
            storage_location=f"Shelf {self.rng.choice('ABCD')}{self.rng.randint(1, 6)}",
            is_active=True,
            is_discontinued=item.sku == DISCONTINUED_SKU,
            created_at=start,
            updated_at=start,
            created_by=self.actor,
            updated_by=self.actor,
            version=1,
        )

    def _history(self, materials: dict[str, Material], start: int, now: int) -> None:
        """Past jobs draw stock every few days, deliveries refill it, a monthly count
        corrects it and now and then a cut goes to waste."""
        day = start + DAY_MS
        while day < now - DAY_MS:
            for item in CATALOGUE:
                row = materials[item.sku]
                if item.per_job and self.rng.random() < 0.5:
                    used = _milli(item.per_job * self.rng.randint(1, 3))
                    use = [Movement("stock_out", -used, "workshop use")]
                    self._take(item, row, use, Reference("manual", "daily use"), day)
                if item.material_type == "ppf_film" and self.rng.random() < 0.05:
                    waste = [Movement("waste", -_milli(0.5), "creased during cutting")]
                    self._take(item, row, waste, Reference("manual"), day + 3_600_000)
            if (day - start) // DAY_MS % 30 == 29:  # the monthly count finds a little less
                item = self.rng.choice(CATALOGUE)
                count = [Movement("adjustment", -_milli(0.5), "monthly count")]
                reference = Reference("manual", "count sheet")
                self._take(item, materials[item.sku], count, reference, day + 7_200_000)
            day += DAY_MS

    def _take(
        self, item: Item, row: Material, movements: list[Movement], reference: Reference, at: int
    ) -> None:
        """Take stock; when the shelf is short, the delivery comes first."""
        try:
            self.ledger.move(row.id, movements, reference, at=at)
        except InsufficientStock:
            delivery = [Movement("stock_in", _milli(item.delivery), "delivery")]
            po = Reference("manual", f"PO-{self.rng.randint(1000, 9999)}")
            self.ledger.move(row.id, delivery, po, at=at - 60_000)
            self.ledger.move(row.id, movements, reference, at=at)

    def _jobs(self, now: int) -> list[Job]:
        """The demo's PPF interventions, oldest first, each with its installation step."""
        rows = self.db.execute(
            select(
                Intervention.id,
                Intervention.task_id,
                Intervention.technician_id,
                Intervention.started_at,
                InterventionStep.id,
            )
            .outerjoin(
                InterventionStep,
                (InterventionStep.intervention_id == Intervention.id)
                & (InterventionStep.step_type == "installation"),
            )
            .where(Intervention.intervention_type == "ppf")
            .order_by(Intervention.started_at, Intervention.id)
        ).all()
        jobs: dict[str, Job] = {}
        for intervention_id, task_id, technician_id, started_at, step_id in rows:
            at = min((started_at or now) + 30 * 60_000, now)
            jobs.setdefault(
                intervention_id, Job(intervention_id, task_id, technician_id, step_id, at)
            )
        return list(jobs.values())

    def _consumption(self, materials: dict[str, Material], now: int) -> None:
        """Film, solutions, blades, towels and sealer on the demo's PPF interventions."""
        for job in self._jobs(now):
            for item in CATALOGUE:
                if not item.per_job or item.sku in (EXPIRED_SKU, DISCONTINUED_SKU):
                    continue
                if item.material_type == "ppf_film" and self.rng.random() < 0.5:
                    continue
                self._consume(item, materials[item.sku], job)

    def _consume(self, item: Item, row: Material, job: Job) -> None:
        used = _milli(item.per_job)
        waste = _milli(0.3) if item.material_type == "ppf_film" and self.rng.random() < 0.3 else 0
        consumption = MaterialConsumption(
            id=str(uuid.uuid4()),
            intervention_id=job.intervention_id,
            task_id=job.task_id,
            material_id=row.id,
            step_id=job.step_id,
            quantity_used_milli=used,
            waste_quantity_milli=waste,
            waste_reason="trimmed edge" if waste else None,
            batch_used=row.batch_number,
            unit_cost_cents=row.unit_cost_cents,
            total_cost_cents=cost_cents(row.unit_cost_cents, used),
            currency=row.currency,
            recorded_by=job.technician_id,
            recorded_at=job.at,
            created_at=job.at,
            updated_at=job.at,
            created_by=job.technician_id,
            updated_by=job.technician_id,
        )
        movements = [Movement("stock_out", -used, "used on intervention")]
        if waste:
            movements.append(Movement("waste", -waste, "trimmed edge"))
        reference = Reference("intervention", job.intervention_id, consumption.id)
        self._take(item, row, movements, reference, job.at)
        self.db.add(consumption)
        self.db.flush()


def _milli(value: float) -> int:
    return round(value * QTY_SCALE)


def add_demo_materials(db: Session, seed: int, actor: str | None) -> int:
    """The demo's stock room in the caller's transaction; the number of materials."""
    return DemoMaterials(db, random.Random(f"{seed}-materials"), actor).run()
