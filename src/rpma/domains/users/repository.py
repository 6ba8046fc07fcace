"""Every query on users."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from rpma.domains.users.models import User

_USERNAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")


class UserRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    def any_exists(self) -> bool:
        return bool(self.db.scalar(select(exists().where(User.deleted_at.is_(None)))))

    def get(self, user_id: str) -> User | None:
        user = self.db.get(User, user_id)
        return user if user is not None and user.deleted_at is None else None

    def by_email(self, email: str) -> User | None:
        return self.db.scalar(
            select(User).where(User.email == email.lower(), User.deleted_at.is_(None))
        )

    def email_taken(self, email: str, *, except_id: str | None = None) -> bool:
        # Soft-deleted rows keep their unique email, so they count as taken too.
        condition = User.email == email.lower()
        if except_id is not None:
            condition = and_(condition, User.id != except_id)
        return bool(self.db.scalar(select(exists().where(condition))))

    def username_taken(self, username: str, *, except_id: str | None = None) -> bool:
        # Case-insensitive: "Sam" and "sam" on one screen would be two people too alike.
        condition = func.lower(User.username) == username.lower()
        if except_id is not None:
            condition = and_(condition, User.id != except_id)
        return bool(self.db.scalar(select(exists().where(condition))))

    def active_admin_ids(self, *, lock: bool = False) -> list[str]:
        """Ids of the active admins. ``lock`` takes a row lock on PostgreSQL so that two
        admins demoting each other at once cannot both pass the last-admin check
        (SQLite writers are serialized by BEGIN IMMEDIATE already)."""
        query = select(User.id).where(
            User.role == "admin", User.is_active.is_(True), User.deleted_at.is_(None)
        )
        if lock:
            query = query.with_for_update()
        return list(self.db.scalars(query))

    def page(
        self,
        *,
        role: str | None,
        is_active: bool | None,
        search: str | None,
        offset: int,
        limit: int,
    ) -> tuple[list[User], int]:
        """One page of live users, by name, and how many match in all."""
        conditions: list[ColumnElement[bool]] = [User.deleted_at.is_(None)]
        if role is not None:
            conditions.append(User.role == role)
        if is_active is not None:
            conditions.append(User.is_active.is_(is_active))
        term = (search or "").strip().lower()
        if term:
            # LIKE wildcards typed by the user are searched for literally.
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"
            full_name = func.lower(User.first_name + " " + User.last_name)
            conditions.append(
                or_(
                    full_name.like(pattern, escape="\\"),
                    User.email.like(pattern, escape="\\"),
                    func.lower(User.username).like(pattern, escape="\\"),
                )
            )
        total = int(self.db.scalar(select(func.count()).select_from(User).where(*conditions)) or 0)
        rows = self.db.scalars(
            select(User)
            .where(*conditions)
            .order_by(func.lower(User.last_name), func.lower(User.first_name), User.email)
            .offset(offset)
            .limit(limit)
        )
        return list(rows), total

    def count(self) -> int:
        return int(self.db.scalar(select(func.count()).select_from(User)) or 0)

    def unique_username(self, wanted: str | None, email: str) -> str:
        """The given username, or one derived from the email's local part, made unique."""
        base = wanted or _USERNAME_CHARS.sub("", email.split("@", 1)[0])
        if not base or not base[0].isalpha():
            base = f"u{base}"
        base = base[:40]
        if len(base) < 3:
            base = f"{base}user"
        candidate = base
        while self.db.scalar(select(exists().where(User.username == candidate))):
            candidate = f"{base}-{uuid.uuid4().hex[:6]}"
        return candidate

    def add(self, user: User) -> User:
        self.db.add(user)
        self.db.flush()
        return user
