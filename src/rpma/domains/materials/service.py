"""The stock keeper's rules (DOMAIN.md "Materials and stock"; docs/MATERIALS.md): the
catalogue of materials, manual stock movements, and the figures.

The role matrix is checked by the dispatcher (reads ``material.read``, changes
``material.manage``). Every change of stock goes through ``StockLedger``; every change
of a material publishes ``material_updated`` once the command has committed. Services
flush, never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from pydantic_core import PydanticCustomError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import Principal
from rpma.core.errors import Conflict, ValidationFailed
from rpma.core.events import Event
from rpma.core.pagination import PageInfo
from rpma.domains.materials.errors import MaterialNotFound, SkuTaken
from rpma.domains.materials.ledger import Movement, Reference, StockLedger
from rpma.domains.materials.models import MATERIAL_TYPES, Material, MaterialTransaction
from rpma.domains.materials.quantities import from_cents, from_milli, to_cents, to_milli
from rpma.domains.materials.repository import MaterialRepository
from rpma.domains.materials.responses import MaterialStats
from rpma.domains.materials.rules import is_expired, is_low_stock
from rpma.domains.materials.schemas import (
    CreateMaterialRequest,
    DeactivateMaterialRequest,
    ListTransactionsRequest,
    MaterialListRequest,
    UpdateMaterialRequest,
    UpdateStockRequest,
    check_thresholds,
)

if TYPE_CHECKING:
    from rpma.core.context import CommandContext

EVENT_TYPE: Final = "material_updated"
DEFAULT_CURRENCY: Final = "EUR"
UNCATEGORIZED: Final = "uncategorized"
# Fields of the material row a null may not clear.
REQUIRED: Final = frozenset(
    {"name", "material_type", "unit_of_measure", "currency", "sku", "is_active", "is_discontinued"}
)
QUANTITY_FIELDS: Final = {
    "minimum_stock": "minimum_stock_milli",
    "maximum_stock": "maximum_stock_milli",
    "reorder_point": "reorder_point_milli",
}
PLAIN_FIELDS: Final = (
    "sku", "name", "description", "material_type", "category", "subcategory", "brand",
    "model", "unit_of_measure", "currency", "supplier_id", "quality_grade",
    "certification", "expiry_date", "batch_number", "serial_numbers", "storage_location",
    "warehouse_id", "is_active", "is_discontinued",
)  # fmt: skip

Publish = Callable[[Event], None]


class MaterialService:
    """``actor`` is the signed-in caller, or None for the operator (``rpma demo``)."""

    def __init__(
        self, db: Session, actor: Principal | None = None, *, publish: Publish | None = None
    ) -> None:
        self.db = db
        self.actor = actor
        self.repo = MaterialRepository(db)
        self.ledger = StockLedger(db, actor.user_id if actor else None)
        self._publish = publish

    @classmethod
    def from_context(cls, ctx: CommandContext) -> MaterialService:
        return cls(ctx.db, ctx.user, publish=ctx.publish_after_commit)

    @property
    def actor_id(self) -> str | None:
        return self.actor.user_id if self.actor else None

    # Reading --------------------------------------------------------------------------------
    def get(self, material_id: str, *, lock: bool = False) -> Material:
        row = self.repo.get(material_id, lock=lock)
        if row is None:
            raise MaterialNotFound(material_id=material_id)
        return row

    def find(self, material_id: str) -> Material | None:
        return self.repo.get(material_id)

    def page(self, req: MaterialListRequest) -> tuple[list[Material], int]:
        return self.repo.page(
            req.material_type, req.category, req.active_only, req.offset, req.limit
        )

    def low_stock(self) -> list[Material]:
        return self.repo.low_stock()

    def expired(self) -> list[Material]:
        return self.repo.expired(clock.now_ms())

    def stats(self) -> MaterialStats:
        """The seed's MaterialStats over active materials, from aggregate queries."""
        count, value_cents, low, expired = self.repo.figures(clock.now_ms())
        by_type = dict.fromkeys(MATERIAL_TYPES, 0)
        for kind, n in self.repo.count_by(Material.material_type).items():
            by_type[str(kind)] = n
        by_category = {
            (name if name is not None else UNCATEGORIZED): n
            for name, n in self.repo.count_by(Material.category).items()
        }
        return MaterialStats(
            total_materials=count,
            total_value=from_cents(value_cents),
            low_stock_count=low,
            expired_count=expired,
            by_type=by_type,
            by_category=dict(sorted(by_category.items())),
        )

    def transactions(
        self, req: ListTransactionsRequest
    ) -> tuple[list[MaterialTransaction], PageInfo]:
        if req.material_id is not None:
            self.get(req.material_id)
        page = req.pagination
        rows, total = self.repo.transactions(
            material_id=req.material_id,
            transaction_type=req.transaction_type,
            date_from=req.date_from,
            date_to=req.date_to,
            offset=page.offset,
            limit=page.page_size,
        )
        return rows, PageInfo.of(page, total)

    # The catalogue ----------------------------------------------------------------------------
    def create(self, req: CreateMaterialRequest) -> Material:
        self._check_sku(req.sku, None)
        now = clock.now_ms()
        row = Material(
            id=str(uuid.uuid4()),
            sku=req.sku,
            name=req.name,
            material_type=req.material_type,
            unit_of_measure=req.unit_of_measure or "piece",
            currency=req.currency or DEFAULT_CURRENCY,
            current_stock_milli=0,
            minimum_stock_milli=0,
            serial_numbers=[],
            is_active=True,
            is_discontinued=False,
            created_at=now,
            updated_at=now,
            created_by=self.actor_id,
            updated_by=self.actor_id,
            version=1,
        )
        given = {
            n for n in req.model_fields_set if getattr(req, n) is not None or n not in REQUIRED
        }
        self._assign(row, req, given - {"sku", "name", "material_type"})
        taken = SkuTaken(message=f"SKU {req.sku} is already in use", field="sku")
        try:
            self.repo.add(row)
        except IntegrityError:  # a simultaneous create of the same SKU won the race
            raise taken from None
        opening = to_milli(req.current_stock)
        if opening:
            moved = self.ledger.move(
                row.id, [Movement("stock_in", opening, "opening stock")], Reference("initial")
            )
            self.ledger.sync(row, moved)
        self.emit(row, "created")
        return row

    def update(self, req: UpdateMaterialRequest) -> Material:
        row = self.get(req.id, lock=True)
        if req.expected_version is not None and req.expected_version != row.version:
            raise Conflict(
                message=f"The material was changed by someone else (version {row.version}, "
                f"expected {req.expected_version}); reload and retry",
                current_version=row.version,
                expected_version=req.expected_version,
            )
        wanted = req.model_fields_set - {"id", "expected_version"}
        for name in sorted(wanted & REQUIRED):
            if getattr(req, name) is None:
                raise ValidationFailed(message=f"{name} cannot be cleared", field=name)
        if req.sku is not None and req.sku != row.sku:
            self._check_sku(req.sku, row.id)
        before = self._editable(row)
        self._assign(row, req, wanted)
        try:
            check_thresholds(
                from_milli(row.minimum_stock_milli),
                None if row.maximum_stock_milli is None else from_milli(row.maximum_stock_milli),
                None if row.reorder_point_milli is None else from_milli(row.reorder_point_milli),
            )
        except PydanticCustomError as exc:  # the thresholds as they would end up
            raise ValidationFailed(message=exc.message()) from None
        changed = sorted(k for k, v in self._editable(row).items() if before[k] != v)
        if changed:
            self._touch(row)
            self.emit(row, "updated", fields=changed)
        return row

    def deactivate(self, req: DeactivateMaterialRequest) -> Material:
        """Hidden from lists and refused for consumption; its ledger and history stay."""
        row = self.get(req.id, lock=True)
        if row.is_active:
            row.is_active = False
            self._touch(row)
            self.emit(row, "deactivated", reason=req.reason)
        return row

    # Stock -----------------------------------------------------------------------------------
    def update_stock(self, req: UpdateStockRequest) -> Material:
        """``add`` (a ``stock_in``, or a ``return``), ``subtract`` (a ``stock_out``, or
        ``waste``) or ``set`` (an ``adjustment`` of the difference, none when equal)."""
        material = self.get(req.id)
        quantity = to_milli(req.quantity)
        reference = Reference("manual", req.reference)
        if req.adjustment_type == "set":
            moved = self.ledger.set_level(material.id, quantity, req.reason, reference)
        else:
            sign = 1 if req.adjustment_type == "add" else -1
            default = "stock_in" if sign > 0 else "stock_out"
            kind = req.transaction_type or default
            moved = self.ledger.move(
                material.id, [Movement(kind, sign * quantity, req.reason)], reference
            )
        if moved is not None:
            self.ledger.sync(material, moved)
            self.emit(material, "stock", transactions=moved.transaction_ids)
        return material

    # Bookkeeping -------------------------------------------------------------------------------
    def _check_sku(self, sku: str, except_id: str | None) -> None:
        owner = self.repo.sku_owner(sku, except_id=except_id)
        if owner is not None:
            raise SkuTaken(
                message=f"SKU {sku} is already used by {owner.name}",
                field="sku",
                material_id=owner.id,
            )

    @staticmethod
    def _assign(row: Material, req: Any, names: set[str]) -> None:
        for name in names:
            value = getattr(req, name)
            if name in QUANTITY_FIELDS:
                if name == "minimum_stock" and value is None:
                    value = 0
                setattr(row, QUANTITY_FIELDS[name], None if value is None else to_milli(value))
            elif name == "unit_cost":
                row.unit_cost_cents = None if value is None else to_cents(value)
            elif name == "serial_numbers":
                row.serial_numbers = list(value or [])
            elif name in PLAIN_FIELDS:
                setattr(row, name, value)

    @staticmethod
    def _editable(row: Material) -> dict[str, Any]:
        names = [*PLAIN_FIELDS, *QUANTITY_FIELDS.values(), "unit_cost_cents"]
        return {name: getattr(row, name) for name in names}

    def _touch(self, row: Material) -> None:
        row.updated_at = clock.now_ms()
        row.updated_by = self.actor_id or row.updated_by
        row.version = (row.version or 0) + 1
        self.db.flush()

    def emit(self, row: Material, change: str, **extra: Any) -> None:
        """``material_updated`` after commit, with the stock and whether it is now low
        (a UI shows the reorder warning without asking again)."""
        if self._publish is None:
            return
        data = {
            "material_id": row.id,
            "sku": row.sku,
            "change": change,
            "current_stock": from_milli(row.current_stock_milli),
            "is_active": row.is_active,
            "low_stock": is_low_stock(row),
            "expired": is_expired(row, clock.now_ms()),
            "version": row.version,
            **extra,
        }
        self._publish(Event(type=EVENT_TYPE, data=data))
