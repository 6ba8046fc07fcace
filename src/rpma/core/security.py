"""Password hashing (Argon2id) and tokens (JWT HS256 with an algorithm allow-list)."""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from rpma.config import Settings
from rpma.core.clock import to_ms
from rpma.core.errors import SessionExpired, SessionInvalid

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
# The only algorithms a token may claim. "none" and every asymmetric algorithm are
# refused before any signature check (the classic alg-confusion attacks).
ALLOWED_ALGORITHMS = [ALGORITHM]
ISSUER = "rpma"
SECRET_FILE = "secret.key"
TokenType = Literal["access", "refresh", "2fa_challenge"]


class Passwords:
    """Argon2id with the seed's parameters (settings, so tests can lower the cost)."""

    SALT_BYTES = 16
    HASH_BYTES = 32

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            hash_len=self.HASH_BYTES,
            salt_len=self.SALT_BYTES,
            type=Type.ID,
        )
        # Verified against when the account does not exist, so that an unknown email
        # costs the same time as a wrong password.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    @property
    def parameters(self) -> dict[str, int]:
        h = self._hasher
        return {
            "memory_cost_kib": h.memory_cost,
            "time_cost": h.time_cost,
            "parallelism": h.parallelism,
            "salt_len": h.salt_len,
            "hash_len": h.hash_len,
        }

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def load_or_create_secret(settings: Settings) -> str:
    """RPMA_SECRET_KEY, else a key generated once and kept in the data directory (0600)."""
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise ValueError("RPMA_SECRET_KEY must be at least 32 characters")
        return settings.secret_key
    path: Path = settings.ensure_data_dir() / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    log.info("generated a new signing key in %s", path)
    return key


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime

    @property
    def expires_at_ms(self) -> int:
        return to_ms(self.expires_at)


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    session_id: str
    token_type: str
    jti: str
    role: str | None
    expires_at_ms: int


class TokenCodec:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def issue(
        self,
        *,
        token_type: TokenType,
        user_id: str,
        session_id: str,
        now: datetime,
        lifetime: timedelta,
        role: str | None = None,
    ) -> IssuedToken:
        jti = uuid.uuid4().hex
        expires = now + lifetime
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": user_id,
            "sid": session_id,
            "typ": token_type,
            "jti": jti,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        if role is not None:
            payload["role"] = role
        token = jwt.encode(payload, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token=token, jti=jti, expires_at=expires.replace(microsecond=0))

    def decode(self, token: str, *, expected_type: TokenType, now: datetime) -> TokenClaims:
        """Verify signature, algorithm, issuer, times and type. Time comes from the
        server's clock, not the OS, so tests can move it."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=ALLOWED_ALGORITHMS,
                issuer=ISSUER,
                options={
                    "require": ["exp", "iat", "nbf", "sub", "sid", "typ", "jti"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise SessionInvalid() from exc
        stamp = now.timestamp()
        if not isinstance(payload["exp"], int | float) or not isinstance(
            payload["nbf"], int | float
        ):
            raise SessionInvalid()
        if payload["nbf"] > stamp + 5:  # a few seconds of leeway for clock skew
            raise SessionInvalid(message="Token is not valid yet")
        if payload["typ"] != expected_type:
            raise SessionInvalid(message=f"A {payload['typ']} token cannot be used here")
        if payload["exp"] <= stamp:
            raise SessionExpired()
        return TokenClaims(
            user_id=str(payload["sub"]),
            session_id=str(payload["sid"]),
            token_type=str(payload["typ"]),
            jti=str(payload["jti"]),
            role=payload.get("role"),
            expires_at_ms=int(payload["exp"]) * 1000,
        )
