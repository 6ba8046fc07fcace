"""StockLedger: the only code that changes a material's balance.

Every movement is one conditional ``UPDATE ... SET current_stock_milli =
current_stock_milli ± :q WHERE id = :id AND <the stock covers it> RETURNING
current_stock_milli`` plus its ledger rows, in the caller's transaction. The database
applies the change to the row as it is at that instant (PostgreSQL re-checks the
condition after waiting on a concurrent writer's row lock; SQLite runs one writer at a
time), so two technicians taking the last roll cannot both succeed, and no balance is
ever read into Python, changed and written back. The previous and new stock of each
ledger row come from the value the UPDATE returned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from rpma.core.clock import clock
from rpma.core.db import note_statement_change
from rpma.domains.materials.errors import (
    InsufficientStock,
    MaterialNotFound,
    StockLimitExceeded,
)
from rpma.domains.materials.models import Material, MaterialTransaction
from rpma.domains.materials.quantities import MAX_STOCK_MILLI, from_milli

# Rows one update may write (a consumption writes two).
SEQUENCE_STRIDE = 10


@dataclass(frozen=True)
class Movement:
    """One ledger row to write: a signed quantity of a transaction type."""

    transaction_type: str
    quantity_milli: int
    reason: str | None = None


@dataclass(frozen=True)
class Reference:
    """What caused a movement: ``manual`` (a stock keeper), ``initial`` (the opening
    stock), ``intervention`` (a consumption)."""

    reference_type: str = "manual"
    reference_id: str | None = None
    consumption_id: str | None = None


@dataclass(frozen=True)
class Moved:
    """What a movement left: the balance and version the update returned, its instant
    and the ids of the ledger rows written."""

    balance: int
    version: int
    at: int
    transaction_ids: list[str]


class StockLedger:
    def __init__(self, db: Session, actor_id: str | None) -> None:
        self.db = db
        self.actor_id = actor_id

    def move(
        self,
        material_id: str,
        movements: list[Movement],
        reference: Reference,
        *,
        at: int | None = None,
    ) -> Moved:
        """Apply the movements' total in one atomic update and write one ledger row per
        movement, in order. Raises InsufficientStock (stock below zero) or
        StockLimitExceeded before anything is written. ``at`` (Unix ms, the clock's now
        by default) is for ``rpma demo``'s history, written in time order."""
        if not 0 < len(movements) <= SEQUENCE_STRIDE:  # pragma: no cover - a caller's bug
            raise ValueError("one update writes 1 to 10 ledger rows")
        total = sum(m.quantity_milli for m in movements)
        now = clock.now_ms() if at is None else at
        query = update(Material).where(Material.id == material_id)
        if total < 0:
            query = query.where(Material.current_stock_milli >= -total)
        else:
            query = query.where(Material.current_stock_milli <= MAX_STOCK_MILLI - total)
        changed = self.db.execute(
            query.values(
                current_stock_milli=Material.current_stock_milli + total,
                version=Material.version + 1,
                updated_at=now,
                updated_by=self.actor_id,
            )
            .returning(Material.current_stock_milli, Material.version)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if changed is None:
            raise self._refusal(material_id, total)
        note_statement_change(self.db, Material, "update", [material_id])
        new_balance, version = changed
        ids = self._write_rows(
            material_id,
            balance=new_balance - total,
            version=version,
            movements=movements,
            reference=reference,
            now=now,
        )
        return Moved(new_balance, version, now, ids)

    def set_level(
        self, material_id: str, target_milli: int, reason: str | None, reference: Reference
    ) -> Moved | None:
        """Count the stock to ``target_milli``: an ``adjustment`` of the difference, or
        nothing when it already is. The row is locked (PostgreSQL) before it is read, and
        the update still requires the balance it read."""
        current = self.db.scalar(
            select(Material.current_stock_milli).where(Material.id == material_id).with_for_update()
        )
        if current is None:
            raise MaterialNotFound(material_id=material_id)
        delta = target_milli - current
        if delta == 0:
            return None
        now = clock.now_ms()
        changed = self.db.execute(
            update(Material)
            .where(Material.id == material_id, Material.current_stock_milli == current)
            .values(
                current_stock_milli=target_milli,
                version=Material.version + 1,
                updated_at=now,
                updated_by=self.actor_id,
            )
            .returning(Material.version)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if changed is None:  # pragma: no cover - the row lock makes this unreachable
            raise InsufficientStock(message="The stock changed meanwhile; retry")
        note_statement_change(self.db, Material, "update", [material_id])
        movement = Movement("adjustment", delta, reason)
        ids = self._write_rows(
            material_id,
            balance=current,
            version=changed,
            movements=[movement],
            reference=reference,
            now=now,
        )
        return Moved(target_milli, changed, now, ids)

    # ------------------------------------------------------------------------------------
    def _write_rows(
        self,
        material_id: str,
        *,
        balance: int,
        version: int,
        movements: list[Movement],
        reference: Reference,
        now: int,
    ) -> list[str]:
        """``sequence`` orders a material's ledger whatever the clock says: the
        material's version after the update (unique per update, as the update holds the
        row) times ten, plus the row's place in the movement. One bulk INSERT: the rows
        are never read back in this transaction."""
        rows = []
        ids = [str(uuid.uuid4()) for _ in movements]
        for index, movement in enumerate(movements):
            rows.append(
                {
                    "id": ids[index],
                    "material_id": material_id,
                    "sequence": version * SEQUENCE_STRIDE + index,
                    "transaction_type": movement.transaction_type,
                    "quantity_milli": movement.quantity_milli,
                    "previous_stock_milli": balance,
                    "new_stock_milli": balance + movement.quantity_milli,
                    "reason": movement.reason,
                    "reference_type": reference.reference_type,
                    "reference_id": reference.reference_id,
                    "consumption_id": reference.consumption_id,
                    "performed_by": self.actor_id,
                    "performed_at": now,
                }
            )
            balance += movement.quantity_milli
        self.db.execute(insert(MaterialTransaction), rows)
        return ids

    def sync(self, material: Material, moved: Moved) -> None:
        """Give ``material`` (loaded before the movement) what the UPDATE wrote, as
        committed values: no second SELECT, and nothing for the session to flush."""
        set_committed_value(material, "current_stock_milli", moved.balance)
        set_committed_value(material, "version", moved.version)
        set_committed_value(material, "updated_at", moved.at)
        set_committed_value(material, "updated_by", self.actor_id)

    def _refusal(self, material_id: str, total: int) -> Exception:
        """Why the conditional update matched no row (read only to word the error)."""
        current = self.db.scalar(
            select(Material.current_stock_milli).where(Material.id == material_id)
        )
        if current is None:
            return MaterialNotFound(material_id=material_id)
        if total < 0:
            return InsufficientStock(
                message=f"Insufficient stock: {from_milli(-total)} needed, "
                f"{from_milli(current)} available",
                material_id=material_id,
                requested=from_milli(-total),
                available=from_milli(current),
            )
        return StockLimitExceeded(
            material_id=material_id,
            current_stock=from_milli(current),
            limit=from_milli(MAX_STOCK_MILLI),
        )
