"""The seed's Material Commands, plus update, deactivate, the stock ledger and the
consumption of an intervention or task (docs/MATERIALS.md), as `ipcClient.materials`.

Quantities and money are plain numbers (3 and 2 decimals kept)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["MaterialsApi"]


class MaterialsApi(Namespace[R]):
    def create(self, data: Mapping[str, Any]) -> R:
        """`data`: the seed's CreateMaterialRequest (`sku`, `name`, `material_type`,
        `current_stock`, and the optional fields). Answers the material."""
        return self._call("material_create", dict(data))

    def get(self, material_id: str) -> R:
        """The material, or None."""
        return self._call("material_get", {"id": material_id})

    def list(
        self,
        material_type: str | None = None,
        category: str | None = None,
        active_only: bool | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> R:
        """`{materials, total}`."""
        return self._call(
            "material_list",
            fields(
                material_type=material_type,
                category=category,
                active_only=active_only,
                limit=limit,
                offset=offset,
            ),
        )

    def update(
        self, material_id: str, changes: Mapping[str, Any], expected_version: int | None = None
    ) -> R:
        """Details, prices, thresholds (never the stock)."""
        return self._call(
            "material_update",
            {**changes, "id": material_id, **fields(expected_version=expected_version)},
        )

    def deactivate(self, material_id: str, reason: str | None = None) -> R:
        return self._call("material_deactivate", {"id": material_id, **fields(reason=reason)})

    def update_stock(
        self, material_id: str, quantity: float, adjustment_type: str, **extra: Any
    ) -> R:
        """`adjustment_type`: `add`, `subtract` or `set`; `extra`: `reason`, `reference`,
        `transaction_type` (`return` for add, `waste` for subtract)."""
        return self._call(
            "material_update_stock",
            {"id": material_id, "quantity": quantity, "adjustment_type": adjustment_type, **extra},
        )

    def record_consumption(
        self, intervention_id: str, material_id: str, quantity_used: float, **extra: Any
    ) -> R:
        """`extra`: `step_id`, `waste_quantity`, `waste_reason`, `batch_used`,
        `expiry_used`, `quality_notes`. Answers the MaterialConsumption."""
        return self._call(
            "material_record_consumption",
            {
                "intervention_id": intervention_id,
                "material_id": material_id,
                "quantity_used": quantity_used,
                **extra,
            },
        )

    def get_stats(self) -> R:
        return self._call("material_get_stats")

    def get_low_stock(self) -> R:
        return self._call("material_get_low_stock")

    def get_expired(self) -> R:
        return self._call("material_get_expired")

    def list_transactions(
        self,
        material_id: str | None = None,
        transaction_type: str | None = None,
        date_from: int | None = None,
        date_to: int | None = None,
        pagination: Mapping[str, Any] | None = None,
    ) -> R:
        """`{transactions, pagination}`, newest first."""
        return self._call(
            "material_list_transactions",
            fields(
                material_id=material_id,
                transaction_type=transaction_type,
                date_from=date_from,
                date_to=date_to,
                pagination=dict(pagination) if pagination is not None else None,
            ),
        )

    def get_consumption(self, intervention_id: str | None = None, task_id: str | None = None) -> R:
        """`{consumptions, by_material, total_cost, currency}` of one intervention or
        one task."""
        return self._call(
            "material_get_consumption",
            fields(intervention_id=intervention_id, task_id=task_id),
        )
