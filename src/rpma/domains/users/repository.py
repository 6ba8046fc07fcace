"""Every query on users."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import exists, func, select
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

    def email_taken(self, email: str) -> bool:
        # Soft-deleted rows keep their unique email, so they count as taken too.
        return bool(self.db.scalar(select(exists().where(User.email == email.lower()))))

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
