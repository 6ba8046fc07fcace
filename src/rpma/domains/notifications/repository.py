"""Every notification query. Inbox reads are scoped to one user by their callers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from rpma.domains.notifications.models import (
    Notification,
    NotificationPreference,
    NotificationTemplate,
)

IN_APP = "in_app"
PENDING, SENDING, DELIVERED, DEAD = "pending", "sending", "delivered", "dead"


class NotificationRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    # Templates and preferences -------------------------------------------------------
    def template(self, notification_type: str) -> NotificationTemplate | None:
        return self.db.get(NotificationTemplate, notification_type)

    def templates(self) -> dict[str, NotificationTemplate]:
        rows = self.db.scalars(select(NotificationTemplate))
        return {row.notification_type: row for row in rows}

    def preferences(self, user_ids: Sequence[str]) -> dict[tuple[str, str, str], bool]:
        if not user_ids:
            return {}
        rows = self.db.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(user_ids))
        )
        return {(r.user_id, r.notification_type, r.channel): r.enabled for r in rows}

    def preference(self, user_id: str, kind: str, channel: str) -> NotificationPreference | None:
        return self.db.get(NotificationPreference, (user_id, kind, channel))

    # The inbox -------------------------------------------------------------------------
    def inbox(
        self, user_id: str, *, unread_only: bool, offset: int, limit: int
    ) -> tuple[list[Notification], int]:
        where = [Notification.user_id == user_id, Notification.channel == IN_APP]
        if unread_only:
            where.append(Notification.read_at.is_(None))
        total = self.db.scalar(select(func.count()).select_from(Notification).where(*where))
        rows = self.db.scalars(
            select(Notification)
            .where(*where)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return list(rows), int(total or 0)

    def unread_count(self, user_id: str) -> int:
        total = self.db.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.channel == IN_APP,
                Notification.read_at.is_(None),
            )
        )
        return int(total or 0)

    def own(self, user_id: str, notification_id: str) -> Notification | None:
        row = self.db.get(Notification, notification_id)
        if row is None or row.user_id != user_id or row.channel != IN_APP:
            return None
        return row

    def mark_all_read(self, user_id: str, now: int) -> int:
        result = self.db.execute(
            update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.channel == IN_APP,
                Notification.read_at.is_(None),
            )
            .values(read_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # The outbox ------------------------------------------------------------------------
    def dead(self, *, offset: int, limit: int) -> tuple[list[Notification], int]:
        where = Notification.status == DEAD
        total = self.db.scalar(select(func.count()).select_from(Notification).where(where))
        rows = self.db.scalars(
            select(Notification)
            .where(where)
            .order_by(Notification.dead_at.desc(), Notification.id)
            .offset(offset)
            .limit(limit)
        )
        return list(rows), int(total or 0)

    def dead_by_ids(self, ids: Sequence[str]) -> list[Notification]:
        return list(
            self.db.scalars(select(Notification).where(Notification.id.in_(ids)).with_for_update())
        )

    def all_dead(self) -> list[Notification]:
        return list(
            self.db.scalars(
                select(Notification).where(Notification.status == DEAD).with_for_update()
            )
        )

    def due_ids(self, now: int, limit: int) -> list[str]:
        """Outbox rows a worker may claim: pending and due, or sending with a lease that
        ran out (a worker died mid-send)."""
        rows = self.db.scalars(
            select(Notification.id)
            .where(claimable(now))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
        return list(rows)


def claimable(now: int) -> ColumnElement[bool]:
    return or_(
        and_(Notification.status == PENDING, Notification.next_attempt_at <= now),
        and_(Notification.status == SENDING, Notification.lease_until < now),
    )
