"""Every query on materials, their ledger and their consumption."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, case, func, insert, select
from sqlalchemy.orm import Session

from rpma.domains.materials.models import Material, MaterialConsumption, MaterialTransaction
from rpma.domains.materials.rules import expired_sql, low_stock_sql, value_cents_sql

LIVE = Material.deleted_at.is_(None)
USABLE = (LIVE, Material.is_active.is_(True))


class MaterialRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    # Materials ----------------------------------------------------------------------------
    def get(self, material_id: str, *, lock: bool = False) -> Material | None:
        """``lock`` takes the row lock on PostgreSQL (an edit must not interleave with
        the ledger's version bumps)."""
        query = select(Material).where(Material.id == material_id, LIVE)
        if lock:
            query = query.with_for_update()
        return self.db.scalar(query)

    def sku_owner(self, sku: str, *, except_id: str | None = None) -> Material | None:
        """Who holds ``sku`` (stored upper-cased, so ``ab-1`` and ``AB-1`` are one)."""
        query = select(Material).where(Material.sku == sku)
        if except_id is not None:
            query = query.where(Material.id != except_id)
        return self.db.scalar(query.limit(1))

    def add(self, row: Material) -> None:
        self.db.add(row)
        self.db.flush()

    def page(
        self,
        material_type: str | None,
        category: str | None,
        active_only: bool,
        offset: int,
        limit: int,
    ) -> tuple[list[Material], int]:
        conditions: list[ColumnElement[bool]] = [LIVE]
        if active_only:
            conditions.append(Material.is_active.is_(True))
        if material_type is not None:
            conditions.append(Material.material_type == material_type)
        if category is not None:
            conditions.append(Material.category == category)
        total = int(
            self.db.scalar(select(func.count()).select_from(Material).where(*conditions)) or 0
        )
        rows = self.db.scalars(
            select(Material)
            .where(*conditions)
            .order_by(Material.name, Material.sku)
            .offset(offset)
            .limit(limit)
        )
        return list(rows), total

    def low_stock(self) -> list[Material]:
        """Active, not discontinued (nobody reorders those), at or under the threshold."""
        return list(
            self.db.scalars(
                select(Material)
                .where(*USABLE, Material.is_discontinued.is_(False), low_stock_sql())
                .order_by(Material.current_stock_milli, Material.sku)
            )
        )

    def expired(self, now_ms: int) -> list[Material]:
        return list(
            self.db.scalars(
                select(Material)
                .where(*USABLE, expired_sql(now_ms))
                .order_by(Material.expiry_date, Material.sku)
            )
        )

    def figures(self, now_ms: int) -> tuple[int, int, int, int]:
        """(count, value in cents, low stock, expired) of active materials, one query."""
        row = self.db.execute(
            select(
                func.count(),
                func.coalesce(func.sum(value_cents_sql()), 0),
                func.coalesce(func.sum(_flag(low_stock_sql())), 0),
                func.coalesce(func.sum(_flag(expired_sql(now_ms))), 0),
            ).where(*USABLE)
        ).one()
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def count_by(self, column: Any) -> dict[str | None, int]:
        rows = self.db.execute(select(column, func.count()).where(*USABLE).group_by(column))
        return {key: int(n) for key, n in rows}

    # The ledger -----------------------------------------------------------------------------
    def transactions(
        self,
        *,
        material_id: str | None,
        transaction_type: str | None,
        date_from: int | None,
        date_to: int | None,
        offset: int,
        limit: int,
    ) -> tuple[list[MaterialTransaction], int]:
        conditions: list[ColumnElement[bool]] = []
        if material_id is not None:
            conditions.append(MaterialTransaction.material_id == material_id)
        if transaction_type is not None:
            conditions.append(MaterialTransaction.transaction_type == transaction_type)
        if date_from is not None:
            conditions.append(MaterialTransaction.performed_at >= date_from)
        if date_to is not None:
            conditions.append(MaterialTransaction.performed_at <= date_to)
        total = int(
            self.db.scalar(select(func.count()).select_from(MaterialTransaction).where(*conditions))
            or 0
        )
        rows = self.db.scalars(
            select(MaterialTransaction)
            .where(*conditions)
            .order_by(
                MaterialTransaction.performed_at.desc(),
                MaterialTransaction.material_id,
                MaterialTransaction.sequence.desc(),
            )
            .offset(offset)
            .limit(limit)
        )
        return list(rows), total

    def ledger_sum(self, material_id: str) -> int:
        return int(
            self.db.scalar(
                select(func.coalesce(func.sum(MaterialTransaction.quantity_milli), 0)).where(
                    MaterialTransaction.material_id == material_id
                )
            )
            or 0
        )

    # Consumption ----------------------------------------------------------------------------
    def add_consumption(self, row: MaterialConsumption) -> None:
        """One INSERT; ``row`` stays out of the session (it is only answered)."""
        values = {c.key: getattr(row, c.key) for c in MaterialConsumption.__table__.columns}
        self.db.execute(insert(MaterialConsumption), [values])

    def consumptions(
        self, *, intervention_id: str | None = None, task_id: str | None = None
    ) -> list[tuple[MaterialConsumption, Material]]:
        query = select(MaterialConsumption, Material).join(
            Material, Material.id == MaterialConsumption.material_id
        )
        if intervention_id is not None:
            query = query.where(MaterialConsumption.intervention_id == intervention_id)
        if task_id is not None:
            query = query.where(MaterialConsumption.task_id == task_id)
        query = query.order_by(MaterialConsumption.recorded_at, MaterialConsumption.id)
        return [(c, m) for c, m in self.db.execute(query)]

    def materials_by_id(self, ids: Sequence[str]) -> dict[str, Material]:
        if not ids:
            return {}
        return {m.id: m for m in self.db.scalars(select(Material).where(Material.id.in_(ids)))}


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)
