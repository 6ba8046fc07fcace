"""What materials look like on the wire (seed: Material Commands; DOMAIN.md "Materials
and stock"). Quantities and money are JSON numbers here and exact integers inside
(``quantities``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from rpma.core.commands import IpcRequest
from rpma.core.pagination import Pagination
from rpma.core.validation import invalid, text_field
from rpma.domains.materials.quantities import (
    Instant,
    Money,
    PositiveQuantity,
    Quantity,
    StockLevel,
)
from rpma.domains.tasks.schemas import Id

MaterialType = Literal["ppf_film", "adhesive", "cleaning_solution", "tool", "consumable"]
UnitOfMeasure = Literal["piece", "meter", "square_meter", "liter", "gram", "roll"]
TransactionType = Literal["stock_in", "stock_out", "adjustment", "waste", "return"]
AdjustmentType = Literal["add", "subtract", "set"]


def _currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise invalid("currency is a three-letter ISO 4217 code, e.g. EUR")
    return code


def _sku(value: str | None) -> str:
    if value is None:  # pragma: no cover - required text never cleans to None
        raise invalid("sku is required")
    return value.upper()


# SKUs are compared as codes: stored upper-cased, so "ab-1" and "AB-1" are one SKU.
Sku = Annotated[
    str, Field(max_length=200), text_field(64, "sku", required=True), AfterValidator(_sku)
]
Name = Annotated[str, Field(max_length=1000), text_field(200, "name", required=True)]
Description = Annotated[str, text_field(5000, "description")]
Label = Annotated[str, text_field(100, "this field")]
ShortId = Annotated[str, text_field(64, "this identifier")]
Grade = Annotated[str, text_field(50, "quality_grade")]
Reason = Annotated[str, text_field(500, "reason")]
Notes = Annotated[str, text_field(5000, "quality_notes")]
Currency = Annotated[str, Field(max_length=3), AfterValidator(_currency)]
SerialNumbers = Annotated[
    list[Annotated[str, text_field(100, "a serial number", required=True)]], Field(max_length=1000)
]


# Requests ---------------------------------------------------------------------------------
class MaterialFields(IpcRequest):
    """What a stock keeper edits on a material; everything but the SKU and the stock."""

    name: Name | None = None
    description: Description | None = None
    material_type: MaterialType | None = None
    category: Label | None = None
    subcategory: Label | None = None
    brand: Label | None = None
    model: Label | None = None
    unit_of_measure: UnitOfMeasure | None = None
    minimum_stock: StockLevel | None = None
    maximum_stock: StockLevel | None = None
    reorder_point: StockLevel | None = None
    unit_cost: Money | None = None
    currency: Currency | None = None
    supplier_id: ShortId | None = None
    quality_grade: Grade | None = None
    certification: Label | None = None
    expiry_date: Instant | None = None
    batch_number: Label | None = None
    serial_numbers: SerialNumbers | None = None
    storage_location: Label | None = None
    warehouse_id: ShortId | None = None


class CreateMaterialRequest(MaterialFields):
    """The seed's CreateMaterialRequest."""

    sku: Sku
    name: Name
    material_type: MaterialType
    current_stock: StockLevel

    @model_validator(mode="after")
    def _thresholds(self) -> CreateMaterialRequest:
        check_thresholds(self.minimum_stock, self.maximum_stock, self.reorder_point)
        return self


class UpdateMaterialRequest(MaterialFields):
    """Closed: the stock moves only through the ledger (``material_update_stock``,
    ``material_record_consumption``), so a ``current_stock`` here is refused, not
    ignored."""

    model_config = ConfigDict(strict=True, extra="forbid")

    id: Id
    sku: Sku | None = None
    is_active: bool | None = None
    is_discontinued: bool | None = None
    expected_version: int | None = Field(
        default=None, description="the version you read; 409 CONFLICT when stale"
    )


class MaterialIdRequest(IpcRequest):
    id: Id


class DeactivateMaterialRequest(IpcRequest):
    id: Id
    reason: Reason | None = None


class MaterialListRequest(IpcRequest):
    material_type: MaterialType | None = None
    category: Label | None = None
    active_only: bool = Field(default=True, description="false lists deactivated ones too")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class UpdateStockRequest(IpcRequest):
    """The seed's UpdateStockRequest, plus an optional reason, reference and, for
    ``add`` a ``return`` and for ``subtract`` a ``waste`` movement."""

    id: Id
    quantity: Quantity
    adjustment_type: AdjustmentType
    reason: Reason | None = None
    reference: ShortId | None = None
    transaction_type: Literal["stock_in", "return", "stock_out", "waste"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> UpdateStockRequest:
        if self.adjustment_type != "set" and self.quantity == 0:
            raise invalid(f"quantity must be more than 0 to {self.adjustment_type}")
        allowed = {"add": ("stock_in", "return"), "subtract": ("stock_out", "waste")}
        kind = self.transaction_type
        if kind is not None and kind not in allowed.get(self.adjustment_type, ()):
            raise invalid(f"transaction_type {kind} does not go with {self.adjustment_type}")
        return self


class RecordConsumptionRequest(IpcRequest):
    """The seed's RecordConsumptionRequest."""

    intervention_id: Id
    material_id: Id
    step_id: Id | None = None
    quantity_used: PositiveQuantity
    waste_quantity: Quantity | None = None
    waste_reason: Reason | None = None
    batch_used: Label | None = None
    expiry_used: Instant | None = None
    quality_notes: Notes | None = None


class ListTransactionsRequest(IpcRequest):
    material_id: Id | None = None
    transaction_type: TransactionType | None = None
    date_from: Instant | None = Field(default=None, description="Unix ms, inclusive")
    date_to: Instant | None = Field(default=None, description="Unix ms, inclusive")
    pagination: Pagination = Field(default_factory=Pagination)

    @model_validator(mode="after")
    def _range(self) -> ListTransactionsRequest:
        if (
            self.date_from is not None
            and self.date_to is not None
            and self.date_to < self.date_from
        ):
            raise invalid("date_to is before date_from")
        return self


class ConsumptionQuery(IpcRequest):
    intervention_id: Id | None = None
    task_id: Id | None = None

    @model_validator(mode="after")
    def _one(self) -> ConsumptionQuery:
        if (self.intervention_id is None) == (self.task_id is None):
            raise invalid("give exactly one of intervention_id and task_id")
        return self


def check_thresholds(
    minimum: float | None, maximum: float | None, reorder_point: float | None
) -> None:
    if maximum is not None and minimum is not None and maximum < minimum:
        raise invalid("maximum_stock is below minimum_stock")
    if maximum is not None and reorder_point is not None and reorder_point > maximum:
        raise invalid("reorder_point is above maximum_stock")
