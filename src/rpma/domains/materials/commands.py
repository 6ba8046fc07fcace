"""The seed's Material Commands, plus what a stock keeper needs: `material_update`,
`material_deactivate`, `material_list_transactions`, `material_get_consumption`
(docs/MATERIALS.md). Thin: parse, call the service, answer.

The seed's requests carry no `session_token`: the token comes from the
`Authorization: Bearer` header (or a `session_token` field; CONTRACT.md section 3).
Reads are `material.read` (every role); catalogue and stock changes `material.manage`
(admin, supervisor); consumption `material.consume` (admin, supervisor, and a technician
on the interventions of tasks assigned to them).
"""

from __future__ import annotations

from rpma.core.clock import clock
from rpma.core.commands import EmptyRequest, command
from rpma.core.context import CommandContext
from rpma.domains.materials.consumption import ConsumptionService
from rpma.domains.materials.errors import (
    INSUFFICIENT_STOCK,
    MATERIAL_UNUSABLE,
    NOT_FOUND_MATERIAL,
    SKU_TAKEN,
    STOCK_LIMIT,
)
from rpma.domains.materials.models import Material
from rpma.domains.materials.responses import (
    ConsumptionOut,
    ConsumptionReport,
    MaterialListResponse,
    MaterialOut,
    MaterialStats,
    TransactionOut,
    TransactionPage,
)
from rpma.domains.materials.schemas import (
    ConsumptionQuery,
    CreateMaterialRequest,
    DeactivateMaterialRequest,
    ListTransactionsRequest,
    MaterialIdRequest,
    MaterialListRequest,
    RecordConsumptionRequest,
    UpdateMaterialRequest,
    UpdateStockRequest,
)
from rpma.domains.materials.service import MaterialService

READ = "material.read"
MANAGE = "material.manage"
CONSUME = "material.consume"


def _service(ctx: CommandContext) -> MaterialService:
    return MaterialService.from_context(ctx)


def _out(row: Material) -> MaterialOut:
    return MaterialOut.of(row, clock.now_ms())


def _outs(rows: list[Material]) -> list[MaterialOut]:
    now = clock.now_ms()
    return [MaterialOut.of(row, now) for row in rows]


@command(
    "material_create",
    request=CreateMaterialRequest,
    response=MaterialOut,
    permission=MANAGE,
    errors=["VALIDATION_ERROR", "AUTH_FORBIDDEN", SKU_TAKEN],
)
def material_create(ctx: CommandContext, req: CreateMaterialRequest) -> MaterialOut:
    """Create a material and answer it. Takes the seed's `CreateMaterialRequest`:
    `sku` (unique, up to 64 characters, stored upper-cased: `VALIDATION_SKU_TAKEN`
    otherwise), `name`, `material_type` (`ppf_film`, `adhesive`, `cleaning_solution`,
    `tool`, `consumable`), `current_stock` (the opening stock, written to the ledger as a
    `stock_in`), and optionally `description`, `category`, `subcategory`, `brand`,
    `model`, `unit_of_measure` (`piece` by default, `meter`, `square_meter`, `liter`,
    `gram`, `roll`), `minimum_stock`, `maximum_stock`, `reorder_point`, `unit_cost`,
    `currency` (ISO code, EUR by default), `supplier_id`, `quality_grade`,
    `certification`, `expiry_date` (Unix ms), `batch_number`, `serial_numbers`,
    `storage_location`, `warehouse_id`. Quantities keep 3 decimals, money 2; more, a
    negative, NaN or an infinity is `VALIDATION_ERROR`.
    """
    return _out(_service(ctx).create(req))


@command(
    "material_get",
    request=MaterialIdRequest,
    response=MaterialOut | None,
    permission=READ,
    writes=False,
    errors=["VALIDATION_ERROR"],
)
def material_get(ctx: CommandContext, req: MaterialIdRequest) -> MaterialOut | None:
    """The material `id` (with `is_low_stock`, `is_expired`, `stock_value`), or null."""
    row = _service(ctx).find(req.id)
    return _out(row) if row is not None else None


@command(
    "material_list",
    request=MaterialListRequest,
    response=MaterialListResponse,
    permission=READ,
    writes=False,
    errors=["VALIDATION_ERROR"],
)
def material_list(ctx: CommandContext, req: MaterialListRequest) -> MaterialListResponse:
    """`{materials, total}` by name: filters `material_type`, `category`, `active_only`
    (default true: deactivated materials are left out), `limit` (1..200, default 50) and
    `offset`."""
    rows, total = _service(ctx).page(req)
    return MaterialListResponse(materials=_outs(rows), total=total)


@command(
    "material_update",
    request=UpdateMaterialRequest,
    response=MaterialOut,
    permission=MANAGE,
    errors=["VALIDATION_ERROR", "AUTH_FORBIDDEN", NOT_FOUND_MATERIAL, SKU_TAKEN, "CONFLICT"],
)
def material_update(ctx: CommandContext, req: UpdateMaterialRequest) -> MaterialOut:
    """Change a material's details, prices and thresholds (`id` plus any field of
    `material_create` but `current_stock`, and `is_active`, `is_discontinued`). The stock
    is not a field here (`current_stock` is refused): it moves only through the ledger.
    An optional `expected_version` that is stale is `CONFLICT` (409)."""
    return _out(_service(ctx).update(req))


@command(
    "material_deactivate",
    request=DeactivateMaterialRequest,
    response=MaterialOut,
    permission=MANAGE,
    errors=["VALIDATION_ERROR", "AUTH_FORBIDDEN", NOT_FOUND_MATERIAL],
)
def material_deactivate(ctx: CommandContext, req: DeactivateMaterialRequest) -> MaterialOut:
    """Deactivate the material `id` (optional `reason`): left out of lists and figures,
    refused for consumption; its stock and ledger stay. Deactivating twice is harmless.
    `material_update` with `is_active: true` brings it back."""
    return _out(_service(ctx).deactivate(req))


@command(
    "material_update_stock",
    request=UpdateStockRequest,
    response=MaterialOut,
    permission=MANAGE,
    errors=[
        "VALIDATION_ERROR",
        "AUTH_FORBIDDEN",
        NOT_FOUND_MATERIAL,
        INSUFFICIENT_STOCK,
        STOCK_LIMIT,
    ],
)
def material_update_stock(ctx: CommandContext, req: UpdateStockRequest) -> MaterialOut:
    """Move stock and answer the material. `adjustment_type` `add` writes a `stock_in`
    (or a `return` with `transaction_type: "return"`), `subtract` a `stock_out` (or
    `waste`), `set` an `adjustment` of the difference to `quantity` (none when equal).
    `quantity` is more than 0 for add and subtract, at least 0 for set; optional
    `reason` and `reference` (a delivery note, a count sheet) go to the ledger row. A
    subtraction beyond the stock is `VALIDATION_INSUFFICIENT_STOCK` and moves nothing."""
    return _out(_service(ctx).update_stock(req))


@command(
    "material_record_consumption",
    request=RecordConsumptionRequest,
    response=ConsumptionOut,
    permission=CONSUME,
    errors=[
        "VALIDATION_ERROR",
        "AUTH_FORBIDDEN",
        "NOT_FOUND_INTERVENTION",
        "NOT_FOUND_TASK",
        NOT_FOUND_MATERIAL,
        "INTERVENTION_INVALID_STATE",
        "INTERVENTION_STEP_NOT_FOUND",
        MATERIAL_UNUSABLE,
        INSUFFICIENT_STOCK,
    ],
)
def material_record_consumption(
    ctx: CommandContext, req: RecordConsumptionRequest
) -> ConsumptionOut:
    """Record material used on an intervention (seed's `RecordConsumptionRequest`:
    `intervention_id`, `material_id`, optional `step_id` of that intervention,
    `quantity_used` > 0, `waste_quantity`, `waste_reason`, `batch_used`, `expiry_used`,
    `quality_notes`) and answer the `MaterialConsumption` with `total_cost` = unit cost
    x `quantity_used`. The stock goes down by used + waste in one atomic step (a
    `stock_out` and a `waste` ledger row); a stock that does not cover it is
    `VALIDATION_INSUFFICIENT_STOCK`. Refused for a completed or cancelled intervention
    (`INTERVENTION_INVALID_STATE`), for an inactive, discontinued or expired material
    (`VALIDATION_MATERIAL_UNUSABLE`), and for a technician on a task not assigned to
    them (`AUTH_FORBIDDEN`)."""
    row, material = ConsumptionService.from_context(ctx).record(req)
    return ConsumptionOut.of(row, material)


@command(
    "material_get_stats",
    request=EmptyRequest,
    response=MaterialStats,
    permission=READ,
    writes=False,
)
def material_get_stats(ctx: CommandContext, req: EmptyRequest) -> MaterialStats:
    """The seed's `MaterialStats` over active materials: `total_materials`,
    `total_value` (sum of current_stock x unit_cost, to the cent), `low_stock_count`,
    `expired_count`, `by_type` (every type, zeros included) and `by_category`
    (`uncategorized` for none)."""
    return _service(ctx).stats()


@command(
    "material_get_low_stock",
    request=EmptyRequest,
    response=list[MaterialOut],
    permission=READ,
    writes=False,
)
def material_get_low_stock(ctx: CommandContext, req: EmptyRequest) -> list[MaterialOut]:
    """Active, not discontinued materials whose stock is at or under their reorder
    point (or, without one, their minimum stock), lowest stock first."""
    return _outs(_service(ctx).low_stock())


@command(
    "material_get_expired",
    request=EmptyRequest,
    response=list[MaterialOut],
    permission=READ,
    writes=False,
)
def material_get_expired(ctx: CommandContext, req: EmptyRequest) -> list[MaterialOut]:
    """Active materials whose `expiry_date` is now or past, soonest expired first."""
    return _outs(_service(ctx).expired())


@command(
    "material_list_transactions",
    request=ListTransactionsRequest,
    response=TransactionPage,
    permission=READ,
    writes=False,
    errors=["VALIDATION_ERROR", NOT_FOUND_MATERIAL],
)
def material_list_transactions(
    ctx: CommandContext, req: ListTransactionsRequest
) -> TransactionPage:
    """The stock ledger, newest first: `{transactions, pagination}`. Filters:
    `material_id` (else every material), `transaction_type` (`stock_in`, `stock_out`,
    `adjustment`, `waste`, `return`), `date_from` and `date_to` (Unix ms, inclusive);
    `pagination {page, page_size}`. Each row: signed `quantity`, `previous_stock`,
    `new_stock`, `reason`, `reference_type` / `reference_id` (the intervention of a
    consumption), `performed_by`, `performed_at`."""
    rows, info = _service(ctx).transactions(req)
    return TransactionPage(transactions=[TransactionOut.of(r) for r in rows], pagination=info)


@command(
    "material_get_consumption",
    request=ConsumptionQuery,
    response=ConsumptionReport,
    permission=READ,
    writes=False,
    errors=["VALIDATION_ERROR", "NOT_FOUND_INTERVENTION", "NOT_FOUND_TASK"],
)
def material_get_consumption(ctx: CommandContext, req: ConsumptionQuery) -> ConsumptionReport:
    """The material used on one `intervention_id`, or on every intervention of one
    `task_id`: `{consumptions (each with its cost), by_material, total_cost,
    currency}`."""
    return ConsumptionService.from_context(ctx).report(req)
