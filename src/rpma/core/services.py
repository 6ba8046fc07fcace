"""The server's long-lived services, built once per app and shared by every command."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from rpma.config import Settings
from rpma.core.context import Principal
from rpma.core.db import Database
from rpma.core.events import EventBus
from rpma.core.ratelimit import RateLimiter
from rpma.core.security import Passwords, TokenCodec, load_or_create_secret


class Authenticator(Protocol):
    """Turns a token into a live principal (the auth domain provides it)."""

    def resolve(self, db: Session, token: str) -> Principal: ...

    def has_users(self, db: Session) -> bool: ...


@dataclass
class Services:
    settings: Settings
    db: Database
    passwords: Passwords
    tokens: TokenCodec
    events: EventBus
    rate_limiter: RateLimiter
    authenticator: Authenticator | None = None
    started_monotonic: float = field(default_factory=time.monotonic)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            db=Database(settings),
            passwords=Passwords(settings),
            tokens=TokenCodec(load_or_create_secret(settings)),
            events=EventBus(),
            rate_limiter=RateLimiter(settings),
        )

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic
