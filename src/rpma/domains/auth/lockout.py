"""Login protection (DOMAIN.md "Users and sessions"): 5 failed attempts on one account
within 15 minutes lock it for 15 minutes, on top of the per-IP rate limit.

A failed attempt makes its command fail, and the command's transaction rolls back; so
the counting happens in a *failure write* (``ctx.even_on_failure``) that runs in a
transaction of its own after the rollback. The functions returning such writes capture
plain values only: ORM objects of the failed transaction are expired by then.

While an account is locked every attempt is refused with exactly the answer of a wrong
password, so that nobody can tell a locked account (or an existing one) from a typo.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import ClientInfo
from rpma.domains.security.service import EventType, record
from rpma.domains.users.models import User

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)

FailureWrite = Callable[[Session], None]


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def is_locked(user: User, now_ms: int) -> bool:
    return user.locked_until is not None and user.locked_until > now_ms


def reset(user: User) -> None:
    """A successful sign-in forgets earlier failures."""
    if user.failed_login_attempts or user.first_failed_login_at or user.locked_until:
        user.failed_login_attempts = 0
        user.first_failed_login_at = None
        user.locked_until = None


def count_failure(user: User, now_ms: int) -> bool:
    """Count one failure on ``user`` (a row locked for update); True when this failure
    locks the account. Attempts made while locked are not counted: the lock does not
    grow, and the counter restarts once it has ended."""
    if is_locked(user, now_ms):
        return False
    window_over = (
        user.first_failed_login_at is None
        or now_ms - user.first_failed_login_at >= _ms(WINDOW)
        # A lock that has ended: the account starts afresh.
        or user.locked_until is not None
    )
    if window_over:
        user.failed_login_attempts = 1
        user.first_failed_login_at = now_ms
        user.locked_until = None
    else:
        user.failed_login_attempts = (user.failed_login_attempts or 0) + 1
    if user.failed_login_attempts >= MAX_FAILURES:
        user.locked_until = now_ms + _ms(LOCK)
        return True
    return False


def failed_attempt(
    user_id: str,
    client: ClientInfo,
    event: EventType,
    description: str,
    **details: Any,
) -> FailureWrite:
    """The failure write of a wrong password or a wrong 2FA code on a known account:
    the event, the count and, at the fifth failure, the lock and its event."""

    def write(db: Session) -> None:
        now_ms = clock.now_ms()
        # FOR UPDATE (BEGIN IMMEDIATE on SQLite): concurrent failures all count.
        user = db.scalar(select(User).where(User.id == user_id).with_for_update())
        if user is None:
            record(db, event, description, user_id=user_id, client=client, **details)
            return
        locked_before = is_locked(user, now_ms)
        locks_now = count_failure(user, now_ms)
        extra: dict[str, Any] = (
            {"account_locked": True} if locked_before else {"attempt": user.failed_login_attempts}
        )
        record(db, event, description, user_id=user_id, client=client, **details, **extra)
        if locks_now:
            record(
                db,
                EventType.ACCOUNT_LOCKED,
                f"Account locked for {int(LOCK.total_seconds() // 60)} minutes after "
                f"{MAX_FAILURES} failed sign-in attempts",
                user_id=user_id,
                client=client,
                locked_until=user.locked_until,
            )
        db.flush()

    return write


def unknown_account(email: str, client: ClientInfo) -> FailureWrite:
    """A sign-in with an email nobody has: recorded, but there is nothing to lock."""

    def write(db: Session) -> None:
        record(
            db,
            EventType.LOGIN_FAILED,
            "Login failed: unknown email",
            client=client,
            email=email,
            reason="unknown_email",
        )

    return write
