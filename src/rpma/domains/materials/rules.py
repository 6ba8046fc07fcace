"""The stock rules, once in Python (for one row) and once in SQL (for aggregates), kept
side by side so that they cannot drift apart.

* Low stock: ``current_stock ≤ reorder_point`` when a reorder point is set, else
  ``current_stock ≤ minimum_stock``.
* Expired: ``expiry_date ≤ now``.
* Value: ``current_stock x unit_cost``, rounded half up to the cent per material.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func

from rpma.domains.materials.models import Material
from rpma.domains.materials.quantities import QTY_SCALE, cost_cents


def is_low_stock(row: Material) -> bool:
    threshold = row.reorder_point_milli
    if threshold is None:
        threshold = row.minimum_stock_milli
    return row.current_stock_milli <= threshold


def is_expired(row: Material, now_ms: int) -> bool:
    return row.expiry_date is not None and row.expiry_date <= now_ms


def stock_value_cents(row: Material) -> int:
    return cost_cents(row.unit_cost_cents, row.current_stock_milli)


def low_stock_sql() -> ColumnElement[bool]:
    threshold = func.coalesce(Material.reorder_point_milli, Material.minimum_stock_milli)
    return Material.current_stock_milli <= threshold


def expired_sql(now_ms: int) -> ColumnElement[bool]:
    return and_(Material.expiry_date.is_not(None), Material.expiry_date <= now_ms)


def value_cents_sql() -> ColumnElement[int]:
    """Per material, the same rounding as ``cost_cents``: (stock x cost + 500) div 1000,
    in integers on both databases (values are never negative, so integer division is
    the floor on both)."""
    product = Material.current_stock_milli * func.coalesce(Material.unit_cost_cents, 0)
    return (product + QTY_SCALE // 2) // QTY_SCALE
