"""Password hashing defaults, the signing key file, and token decoding rules."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from rpma.config import Settings
from rpma.core.errors import SessionExpired, SessionInvalid
from rpma.core.security import Passwords, TokenCodec, load_or_create_secret
from tests.conftest import fast_settings

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_argon2_defaults_are_the_seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RPMA_ARGON2_MEMORY_KIB", "RPMA_ARGON2_TIME_COST", "RPMA_ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    passwords = Passwords(Settings(data_dir=tmp_path))
    assert passwords.parameters == {
        "memory_cost_kib": 32 * 1024,
        "time_cost": 3,
        "parallelism": 4,
        "salt_len": 16,
        "hash_len": 32,
    }
    hashed = passwords.hash("SecurePass123!")
    assert hashed.startswith("$argon2id$v=19$m=32768,t=3,p=4$")
    assert passwords.verify(hashed, "SecurePass123!")
    assert not passwords.verify(hashed, "SecurePass123?")


def test_token_lifetimes_are_the_seeds(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.access_token_minutes == 8 * 60
    assert settings.refresh_token_days == 30


def test_a_missing_hash_never_verifies(tmp_path: Path) -> None:
    passwords = Passwords(fast_settings(tmp_path))
    assert not passwords.verify(None, "anything")
    assert not passwords.verify("not-a-hash", "anything")


def test_a_cheaper_hash_is_upgraded_on_login(tmp_path: Path) -> None:
    weak = Passwords(fast_settings(tmp_path, argon2_memory_kib=512))
    strong = Passwords(fast_settings(tmp_path))
    assert strong.needs_rehash(weak.hash("SecurePass123!"))


def test_signing_key_is_generated_once_with_owner_only_mode(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=None)
    first = load_or_create_secret(settings)
    second = load_or_create_secret(settings)
    assert first == second
    assert len(first) >= 48
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600


def test_a_short_configured_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 32"):
        load_or_create_secret(Settings(data_dir=tmp_path, secret_key="short"))


def test_codec_checks_type_expiry_and_algorithm() -> None:
    codec = TokenCodec("k" * 64)
    issued = codec.issue(
        token_type="access",
        user_id="u",
        session_id="s",
        now=NOW,
        lifetime=timedelta(hours=8),
        role="admin",
    )
    claims = codec.decode(issued.token, expected_type="access", now=NOW)
    assert (claims.user_id, claims.session_id, claims.role) == ("u", "s", "admin")
    assert claims.expires_at_ms == int((NOW + timedelta(hours=8)).timestamp() * 1000)
    with pytest.raises(SessionInvalid):
        codec.decode(issued.token, expected_type="refresh", now=NOW)
    with pytest.raises(SessionExpired):
        codec.decode(issued.token, expected_type="access", now=NOW + timedelta(hours=8))
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    with pytest.raises(SessionInvalid):
        codec.decode(
            jwt.encode(payload, "k" * 64, algorithm="HS384"), expected_type="access", now=NOW
        )
    with pytest.raises(SessionInvalid):
        codec.decode(
            jwt.encode({**payload, "iss": "other"}, "k" * 64, algorithm="HS256"),
            expected_type="access",
            now=NOW,
        )
