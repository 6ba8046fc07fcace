"""The server's long-lived services, built once per app and shared by every command."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from rpma.config import Settings
from rpma.core.cache import AppCache, TableVersions
from rpma.core.context import ClientInfo, Principal
from rpma.core.crypto import SecretBox
from rpma.core.db import Database
from rpma.core.events import EventBus
from rpma.core.ratelimit import RateLimiter
from rpma.core.security import Passwords, TokenCodec, load_or_create_secret


class Authenticator(Protocol):
    """Turns a token into a live principal (the auth domain provides it)."""

    def resolve(self, db: Session, token: str) -> Principal: ...

    def has_users(self, db: Session) -> bool: ...


class SecurityRecorder(Protocol):
    """Appends a security event (the security domain provides it)."""

    def __call__(
        self,
        db: Session,
        event_type: str,
        description: str,
        *,
        user_id: str | None = None,
        client: ClientInfo | None = None,
        **details: Any,
    ) -> None: ...


@dataclass
class Services:
    settings: Settings
    db: Database
    passwords: Passwords
    tokens: TokenCodec
    server_key: str
    events: EventBus
    rate_limiter: RateLimiter
    cache: AppCache
    authenticator: Authenticator | None = None
    security_recorder: SecurityRecorder | None = None
    # Set by the layers above core, read through their typed accessors: the /ws hub
    # (``rpma.live.hub.hub_for``) and the desktop window (``rpma.desktop.shell.shell_of``).
    live: object | None = None
    shell: object | None = None
    started_monotonic: float = field(default_factory=time.monotonic)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        server_key = load_or_create_secret(settings)
        database = Database(settings)
        versions = TableVersions(settings.redis_url)
        database.track_writes(versions)
        return cls(
            settings=settings,
            db=database,
            passwords=Passwords(settings),
            tokens=TokenCodec(server_key),
            server_key=server_key,
            events=EventBus(),
            rate_limiter=RateLimiter(settings),
            cache=AppCache(versions),
        )

    def secret_box(self, purpose: str) -> SecretBox:
        return SecretBox(self.server_key, purpose)

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic
