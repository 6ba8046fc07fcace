"""Materials, their stock ledger and their consumption on interventions.

Quantities are integers of thousandths of the material's unit (``*_milli``) and money is
integer cents (``*_cents``): both databases add integers exactly, so the balance on a
material always equals the sum of its ledger rows, to the last thousandth. The wire
shows plain JSON numbers (``rpma.domains.materials.quantities``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, AuditMixin, Base, SyncMixin
from rpma.core.types import JsonList

MATERIAL_TYPES = ("ppf_film", "adhesive", "cleaning_solution", "tool", "consumable")
UNITS = ("piece", "meter", "square_meter", "liter", "gram", "roll")
TRANSACTION_TYPES = ("stock_in", "stock_out", "adjustment", "waste", "return")


class Material(AuditMixin, SyncMixin, Base):
    __tablename__ = "materials"
    __table_args__ = (
        # The last line of defence behind the conditional UPDATE of the ledger.
        CheckConstraint("current_stock_milli >= 0", name="stock_not_negative"),
        Index("ix_materials_type_active", "material_type", "is_active"),
        Index("ix_materials_category", "category"),
        Index("ix_materials_expiry_date", "expiry_date"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    material_type: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(100))
    subcategory: Mapped[str | None] = mapped_column(String(100))
    brand: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    unit_of_measure: Mapped[str] = mapped_column(String(16))
    # The balance: changed only by StockLedger, in the transaction of its ledger row.
    current_stock_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    minimum_stock_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    maximum_stock_milli: Mapped[int | None] = mapped_column(BigInteger)
    reorder_point_milli: Mapped[int | None] = mapped_column(BigInteger)
    unit_cost_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    supplier_id: Mapped[str | None] = mapped_column(String(64))
    quality_grade: Mapped[str | None] = mapped_column(String(50))
    certification: Mapped[str | None] = mapped_column(String(100))
    expiry_date: Mapped[int | None] = mapped_column(BigInteger)  # Unix ms
    batch_number: Mapped[str | None] = mapped_column(String(100))
    serial_numbers: Mapped[list[Any]] = mapped_column(JsonList, default=list)
    storage_location: Mapped[str | None] = mapped_column(String(100))
    warehouse_id: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_discontinued: Mapped[bool] = mapped_column(Boolean, default=False)


class MaterialTransaction(Base):
    """One movement of stock. Append-only: never updated, never deleted.

    ``quantity_milli`` is signed (positive in, negative out), so the balance is the sum
    of the ledger; ``previous_stock_milli`` and ``new_stock_milli`` are the balance just
    before and after, as the atomic update saw it."""

    __tablename__ = "material_transactions"
    __table_args__ = (
        # One order per material, guarded by the database (see StockLedger).
        UniqueConstraint("material_id", "sequence"),
        Index("ix_material_transactions_type_at", "transaction_type", "performed_at"),
        Index("ix_material_transactions_performed_at", "performed_at"),
        Index("ix_material_transactions_reference", "reference_type", "reference_id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    material_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("materials.id", ondelete="RESTRICT")
    )
    sequence: Mapped[int] = mapped_column(BigInteger)
    transaction_type: Mapped[str] = mapped_column(String(16))
    quantity_milli: Mapped[int] = mapped_column(BigInteger)
    previous_stock_milli: Mapped[int] = mapped_column(BigInteger)
    new_stock_milli: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(500))
    # What caused it: "intervention" (with the consumption), "manual", "initial".
    reference_type: Mapped[str] = mapped_column(String(20))
    reference_id: Mapped[str | None] = mapped_column(String(100))
    consumption_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    performed_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    performed_at: Mapped[int] = mapped_column(BigInteger)


class MaterialConsumption(AuditMixin, Base):
    """Material used on an intervention (and step). ``task_id`` is copied from the
    intervention so that a task's consumption is read without the interventions table;
    the unit cost is the one at the time of use."""

    __tablename__ = "material_consumptions"
    __table_args__ = (
        Index("ix_material_consumptions_intervention", "intervention_id", "recorded_at"),
        Index("ix_material_consumptions_task", "task_id", "recorded_at"),
        Index("ix_material_consumptions_material", "material_id", "recorded_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    intervention_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("interventions.id", ondelete="RESTRICT")
    )
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    material_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("materials.id", ondelete="RESTRICT")
    )
    step_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("intervention_steps.id", ondelete="SET NULL")
    )
    quantity_used_milli: Mapped[int] = mapped_column(BigInteger)
    waste_quantity_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    waste_reason: Mapped[str | None] = mapped_column(String(500))
    batch_used: Mapped[str | None] = mapped_column(String(100))
    expiry_used: Mapped[int | None] = mapped_column(BigInteger)
    quality_notes: Mapped[str | None] = mapped_column(Text)
    unit_cost_cents: Mapped[int | None] = mapped_column(BigInteger)
    total_cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    recorded_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    recorded_at: Mapped[int] = mapped_column(BigInteger)
