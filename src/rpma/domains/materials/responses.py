"""What materials look like in answers (seed: Material Commands, MaterialStats,
MaterialConsumption). Quantities and money are plain JSON numbers, converted from the
exact integers inside (``quantities``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from rpma.core.pagination import PageInfo
from rpma.domains.materials.models import Material, MaterialConsumption, MaterialTransaction
from rpma.domains.materials.quantities import from_cents, from_milli, maybe_cents, maybe_milli
from rpma.domains.materials.rules import is_expired, is_low_stock, stock_value_cents


# Responses ------------------------------------------------------------------------------------
class MaterialOut(BaseModel):
    id: str
    sku: str
    name: str
    description: str | None
    material_type: str
    category: str | None
    subcategory: str | None
    brand: str | None
    model: str | None
    unit_of_measure: str
    current_stock: float
    minimum_stock: float
    maximum_stock: float | None
    reorder_point: float | None
    unit_cost: float | None
    currency: str
    stock_value: float = Field(description="current_stock x unit_cost, to the cent")
    supplier_id: str | None
    quality_grade: str | None
    certification: str | None
    expiry_date: int | None
    batch_number: str | None
    serial_numbers: list[str]
    storage_location: str | None
    warehouse_id: str | None
    is_active: bool
    is_discontinued: bool
    is_low_stock: bool
    is_expired: bool
    created_at: int
    updated_at: int
    created_by: str | None
    updated_by: str | None
    version: int

    @classmethod
    def of(cls, row: Material, now_ms: int) -> MaterialOut:
        return cls(
            id=row.id,
            sku=row.sku,
            name=row.name,
            description=row.description,
            material_type=row.material_type,
            category=row.category,
            subcategory=row.subcategory,
            brand=row.brand,
            model=row.model,
            unit_of_measure=row.unit_of_measure,
            current_stock=from_milli(row.current_stock_milli),
            minimum_stock=from_milli(row.minimum_stock_milli),
            maximum_stock=maybe_milli(row.maximum_stock_milli),
            reorder_point=maybe_milli(row.reorder_point_milli),
            unit_cost=maybe_cents(row.unit_cost_cents),
            currency=row.currency,
            stock_value=from_cents(stock_value_cents(row)),
            supplier_id=row.supplier_id,
            quality_grade=row.quality_grade,
            certification=row.certification,
            expiry_date=row.expiry_date,
            batch_number=row.batch_number,
            serial_numbers=[str(s) for s in row.serial_numbers],
            storage_location=row.storage_location,
            warehouse_id=row.warehouse_id,
            is_active=row.is_active,
            is_discontinued=row.is_discontinued,
            is_low_stock=is_low_stock(row),
            is_expired=is_expired(row, now_ms),
            created_at=row.created_at,
            updated_at=row.updated_at,
            created_by=row.created_by,
            updated_by=row.updated_by,
            version=row.version,
        )


class MaterialListResponse(BaseModel):
    materials: list[MaterialOut]
    total: int


class TransactionOut(BaseModel):
    id: str
    material_id: str
    transaction_type: str
    quantity: float = Field(description="signed: positive into stock, negative out of it")
    previous_stock: float
    new_stock: float
    reason: str | None
    reference_type: str
    reference_id: str | None
    consumption_id: str | None
    performed_by: str | None
    performed_at: int

    @classmethod
    def of(cls, row: MaterialTransaction) -> TransactionOut:
        return cls(
            id=row.id,
            material_id=row.material_id,
            transaction_type=row.transaction_type,
            quantity=from_milli(row.quantity_milli),
            previous_stock=from_milli(row.previous_stock_milli),
            new_stock=from_milli(row.new_stock_milli),
            reason=row.reason,
            reference_type=row.reference_type,
            reference_id=row.reference_id,
            consumption_id=row.consumption_id,
            performed_by=row.performed_by,
            performed_at=row.performed_at,
        )


class TransactionPage(BaseModel):
    transactions: list[TransactionOut]
    pagination: PageInfo


class ConsumptionOut(BaseModel):
    """The seed's MaterialConsumption."""

    id: str
    intervention_id: str
    task_id: str
    material_id: str
    material_sku: str | None = None
    material_name: str | None = None
    unit_of_measure: str | None = None
    step_id: str | None
    quantity_used: float
    waste_quantity: float
    waste_reason: str | None
    batch_used: str | None
    expiry_used: int | None
    quality_notes: str | None
    unit_cost: float | None
    total_cost: float = Field(description="unit_cost x quantity_used, to the cent")
    currency: str
    recorded_by: str | None
    recorded_at: int

    @classmethod
    def of(cls, row: MaterialConsumption, material: Material | None = None) -> ConsumptionOut:
        return cls(
            id=row.id,
            intervention_id=row.intervention_id,
            task_id=row.task_id,
            material_id=row.material_id,
            material_sku=material.sku if material else None,
            material_name=material.name if material else None,
            unit_of_measure=material.unit_of_measure if material else None,
            step_id=row.step_id,
            quantity_used=from_milli(row.quantity_used_milli),
            waste_quantity=from_milli(row.waste_quantity_milli),
            waste_reason=row.waste_reason,
            batch_used=row.batch_used,
            expiry_used=row.expiry_used,
            quality_notes=row.quality_notes,
            unit_cost=maybe_cents(row.unit_cost_cents),
            total_cost=from_cents(row.total_cost_cents),
            currency=row.currency,
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
        )


class MaterialUsage(BaseModel):
    """One material's total on an intervention or task."""

    material_id: str
    material_sku: str
    material_name: str
    unit_of_measure: str
    quantity_used: float
    waste_quantity: float
    total_cost: float


class ConsumptionReport(BaseModel):
    consumptions: list[ConsumptionOut]
    by_material: list[MaterialUsage]
    total_cost: float
    currency: str | None = Field(description="null when the consumptions mix currencies")


class MaterialStats(BaseModel):
    """The seed's MaterialStats, over active materials."""

    total_materials: int
    total_value: float
    low_stock_count: int
    expired_count: int
    by_type: dict[str, int]
    by_category: dict[str, int]
