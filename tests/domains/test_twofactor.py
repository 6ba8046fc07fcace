"""2FA through the real HTTP transport: enrolment, the challenge login of CONTRACT.md
section 8, single-use TOTP and backup codes, re-verification, disabling, regenerating.

TOTP codes are computed with pyotp at the server's frozen clock; time moves only by
``clock.advance``."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
from sqlalchemy import select

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.db import Base
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, LiveServer, make_user
from tests.domains.test_lockout import (
    LOCAL,
    OWNER,
    Trail,
    events,
    lockout_columns,
    refused_counting,
    user_id_of,
)
from tests.helpers import count, refused

STEP = timedelta(seconds=30)
BACKUP_CODE = re.compile(r"[a-hj-km-np-z2-9]{4}-[a-hj-km-np-z2-9]{4}")


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def wrong_code(secret: str) -> str:
    """A 6-digit code valid at no step near now."""
    near = {code_at(secret, clock.now() + STEP * i) for i in range(-3, 4)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in near)


def enrol(client: IpcClient) -> dict[str, Any]:
    """Turn 2FA on for the client's account; answers enable_2fa's setup. Leaves the
    clock one step later, so that the next code is a fresh one."""
    clock.freeze()
    setup = dict(client.auth.enable_2fa())
    user_id = client.call("auth_validate_session", {})["user"]["id"]
    assert client.auth.verify_2fa_setup(user_id, code_at(setup["secret"], clock.now())) is True
    clock.advance(STEP)
    setup["user_id"] = user_id
    return setup


def challenge(server: LiveServer, email: str = OWNER, password: str = ADMIN_PASSWORD) -> str:
    with server.client() as client:
        answer = client.auth.login(email, password)
        assert client.token is None
    assert answer["requires_2fa"] is True
    return str(answer["challenge_token"])


def users_row(server: LiveServer, email: str = OWNER) -> Any:
    table = Base.metadata.tables["users"]
    with server.services.db.engine.connect() as conn:
        return conn.execute(select(table).where(table.c.email == email)).one()


def backup_rows(server: LiveServer) -> list[Any]:
    table = Base.metadata.tables["backup_codes"]
    with server.services.db.engine.connect() as conn:
        return list(conn.execute(select(table)))


# ----------------------------------------------------------------------------------------
def test_enrolment_gives_secret_qr_and_backup_codes(server: LiveServer, admin: IpcClient) -> None:
    owner = user_id_of(server.services, OWNER)
    trail = Trail(server.services)
    assert admin.auth.is_2fa_enabled() is False
    clock.freeze()
    setup = admin.auth.enable_2fa()
    assert set(setup) == {"secret", "qr_code_url", "otpauth_uri", "backup_codes"}
    secret = setup["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    uri = urlparse(setup["otpauth_uri"])
    assert (uri.scheme, uri.netloc, unquote(uri.path)) == ("otpauth", "totp", f"/RPMA:{OWNER}")
    query = parse_qs(uri.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["RPMA"]
    parsed = pyotp.parse_uri(setup["otpauth_uri"])
    assert isinstance(parsed, pyotp.TOTP)
    assert (parsed.digits, parsed.interval, parsed.digest().name) == (6, 30, "sha1")
    assert parsed.at(clock.now()) == code_at(secret, clock.now())
    assert setup["qr_code_url"].startswith("data:image/png;base64,")
    png = base64.b64decode(setup["qr_code_url"].split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    codes = setup["backup_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert all(BACKUP_CODE.fullmatch(c) for c in codes)

    # Stored, but not in force until a code proves the app has the secret.
    row = users_row(server)
    assert row.two_factor_enabled is False
    assert row.two_factor_secret.startswith("v1:")
    assert secret not in row.two_factor_secret
    stored = backup_rows(server)
    assert len(stored) == 10
    # Keyed digests (HMAC-SHA256, 64 hex characters), never the codes themselves.
    assert all(len(r.code_hash) == 64 and r.used_at is None for r in stored)
    assert not {r.code_hash for r in stored} & set(codes)
    assert admin.auth.is_2fa_enabled() is False
    assert admin.auth.login(OWNER, ADMIN_PASSWORD)["access_token"]
    assert trail.new() == [("login_success", owner, LOCAL)]

    assert admin.auth.verify_2fa_setup(owner, code_at(secret, clock.now())) is True
    assert admin.auth.is_2fa_enabled() is True
    assert users_row(server).two_factor_enabled is True
    assert admin.call("auth_validate_session", {})["user"]["two_factor_enabled"] is True
    assert trail.new() == [("2fa_enabled", owner, LOCAL)]
    refused(server.services, admin.auth.enable_2fa, "2FA_ALREADY_ENABLED", 400)
    refused(
        server.services,
        lambda: admin.auth.verify_2fa_setup(owner, code_at(secret, clock.now() + STEP)),
        "2FA_ALREADY_ENABLED",
        400,
    )
    assert trail.new() == []


def test_a_second_enable_replaces_the_pending_secret(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    first = admin.auth.enable_2fa()
    second = admin.auth.enable_2fa()
    assert first["secret"] != second["secret"]
    assert not set(first["backup_codes"]) & set(second["backup_codes"])
    assert len(backup_rows(server)) == 10
    owner = user_id_of(server.services, OWNER)
    refused(
        server.services,
        lambda: admin.auth.verify_2fa_setup(owner, code_at(first["secret"], clock.now())),
        "2FA_INVALID_CODE",
        400,
    )
    assert admin.auth.verify_2fa_setup(owner, code_at(second["secret"], clock.now())) is True


def test_setup_refuses_wrong_codes_and_other_accounts(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    owner = user_id_of(server.services, OWNER)
    refused(
        server.services,
        lambda: admin.auth.verify_2fa_setup(owner, "123456"),
        "2FA_NOT_ENABLED",
        400,
    )
    secret = admin.auth.enable_2fa()["secret"]
    trail = Trail(server.services)
    for code in (wrong_code(secret), "12345", "1234567", "abcdef", "", "abcd-efgh"):
        refused(
            server.services,
            partial(admin.auth.verify_2fa_setup, owner, code),
            "2FA_INVALID_CODE",
            400,
        )
    # Two steps away is outside the ±1 window.
    for offset in (-2, 2):
        refused(
            server.services,
            partial(
                admin.auth.verify_2fa_setup, owner, code_at(secret, clock.now() + STEP * offset)
            ),
            "2FA_INVALID_CODE",
            400,
        )
    good = code_at(secret, clock.now())
    refused(
        server.services,
        lambda: admin.call("verify_2fa_setup", {"user_id": owner, "code": int(good)}),
        "VALIDATION_ERROR",
        400,
    )
    refused(
        server.services,
        lambda: admin.call("verify_2fa_setup", {"user_id": owner}),
        "VALIDATION_ERROR",
        400,
    )
    assert trail.new() == []  # a wrong setup code is the user's typo, not an attack
    tech = make_user(admin, server, "technician")
    tech_id = tech.call("auth_validate_session", {})["user"]["id"]
    tech.close()
    trail.new()
    refused(
        server.services,
        lambda: admin.auth.verify_2fa_setup(tech_id, good),
        "AUTH_FORBIDDEN",
        403,
    )
    assert trail.new() == []
    assert admin.auth.is_2fa_enabled() is False
    assert admin.auth.verify_2fa_setup(owner, good) is True


def test_login_with_2fa_answers_a_challenge_then_a_session(
    server: LiveServer, admin: IpcClient
) -> None:
    setup = enrol(admin)
    owner = setup["user_id"]
    trail = Trail(server.services)
    sessions = count(server.services, "sessions")
    with server.client() as client:
        answer = client.auth.login(OWNER, ADMIN_PASSWORD)
        assert set(answer) == {"requires_2fa", "challenge_token", "expires_at"}
        assert answer["requires_2fa"] is True
        # Five minutes, in whole seconds like every JWT expiry.
        assert answer["expires_at"] == clock.now_ms() // 1000 * 1000 + 5 * 60 * 1000
        assert client.token is None
        assert count(server.services, "sessions") == sessions
        assert trail.new() == []  # half a sign-in is not yet a success

        # The challenge is no session.
        token = answer["challenge_token"]
        with server.client(token=token) as holder:
            refused(
                server.services,
                lambda: holder.call("get_database_stats"),
                "AUTH_SESSION_INVALID",
                401,
            )
            refused(
                server.services,
                lambda: holder.call("auth_validate_session", {}),
                "AUTH_SESSION_INVALID",
                401,
            )
            refused(
                server.services,
                lambda: holder.call("auth_refresh_token", {"refresh_token": token}),
                "AUTH_SESSION_INVALID",
                401,
            )
            refused(server.services, holder.auth.enable_2fa, "AUTH_SESSION_INVALID", 401)

        signed_in = client.auth.verify_2fa_code(code_at(setup["secret"], clock.now()), token)
        assert set(signed_in) == {"access_token", "refresh_token", "user", "expires_at"}
        assert signed_in["user"]["email"] == OWNER
        assert signed_in["user"]["two_factor_enabled"] is True
        assert signed_in["user"]["last_login_at"] == clock.now_ms()
        assert client.token == signed_in["access_token"]
        assert client.call("get_database_stats")  # an admin session, for real
        assert count(server.services, "sessions") == sessions + 1
        assert trail.new() == [("login_success", owner, LOCAL)]
        assert trail.details["login_success"] == [{"method": "totp"}]

        # A challenge opens at most one session, even with a fresh code.
        clock.advance(STEP)
        refused(
            server.services,
            lambda: client.auth.verify_2fa_code(code_at(setup["secret"], clock.now()), token),
            "AUTH_SESSION_INVALID",
            401,
        )


def test_the_challenge_can_come_in_the_header(server: LiveServer, admin: IpcClient) -> None:
    setup = enrol(admin)
    token = challenge(server)
    with server.client(token=token) as client:
        signed_in = client.auth.verify_2fa_code(code_at(setup["secret"], clock.now()))
        assert client.token == signed_in["access_token"] != token


def test_an_expired_challenge_is_refused(server: LiveServer, admin: IpcClient) -> None:
    setup = enrol(admin)
    token = challenge(server)
    clock.advance(timedelta(minutes=6))
    with server.client() as client:
        refused(
            server.services,
            lambda: client.auth.verify_2fa_code(code_at(setup["secret"], clock.now()), token),
            "AUTH_SESSION_EXPIRED",
            401,
        )
        refused(
            server.services,
            lambda: client.auth.verify_2fa_code("123456", "not-a-token"),
            "AUTH_SESSION_INVALID",
            401,
        )
        refused(
            server.services,
            lambda: client.auth.verify_2fa_code("123456"),
            "AUTH_SESSION_INVALID",
            401,
        )


def test_a_totp_code_works_once(server: LiveServer, admin: IpcClient) -> None:
    setup = enrol(admin)
    owner = setup["user_id"]
    code = code_at(setup["secret"], clock.now())
    with server.client() as client:
        client.auth.verify_2fa_code(code, challenge(server))
        trail = Trail(server.services)
        # The same code again, in the same 30 s: a replay.
        token = challenge(server)
        refused_counting(
            server.services,
            lambda: client.auth.verify_2fa_code(code, token),
            "2FA_INVALID_CODE",
            400,
        )
        assert trail.new() == [("2fa_failed", owner, LOCAL)]
        assert trail.details["2fa_failed"] == [{"stage": "login", "attempt": 1}]
        clock.advance(STEP)
        fresh = code_at(setup["secret"], clock.now())
        assert client.auth.verify_2fa_code(fresh, token)["user"]["id"] == owner
    # The success forgot the failure.
    assert lockout_columns(server.services, OWNER) == (0, None, None)


def test_neighbouring_steps_are_accepted_and_no_further(
    server: LiveServer, admin: IpcClient
) -> None:
    setup = enrol(admin)
    secret = setup["secret"]
    clock.advance(timedelta(minutes=10))  # far from the step used at setup
    now = clock.now()
    with server.client() as client:
        token = challenge(server)
        for offset in (-2, 2):
            refused_counting(
                server.services,
                partial(client.auth.verify_2fa_code, code_at(secret, now + STEP * offset), token),
                "2FA_INVALID_CODE",
                400,
            )
        assert client.auth.verify_2fa_code(code_at(secret, now - STEP), token)["access_token"]
        assert client.auth.verify_2fa_code(code_at(secret, now + STEP), challenge(server))
        # Step "now" lies before the last step accepted (now + 1): refused as a replay.
        refused_counting(
            server.services,
            lambda: client.auth.verify_2fa_code(code_at(secret, now), challenge(server)),
            "2FA_INVALID_CODE",
            400,
        )
    assert users_row(server).two_factor_last_step == pyotp.TOTP(secret).timecode(now) + 1


def test_a_backup_code_works_once(server: LiveServer, admin: IpcClient) -> None:
    setup = enrol(admin)
    owner = setup["user_id"]
    first, second = setup["backup_codes"][:2]
    trail = Trail(server.services)
    with server.client() as client:
        assert client.auth.verify_2fa_code(first, challenge(server))["user"]["id"] == owner
        assert trail.new() == events(
            ("login_success", owner, LOCAL), ("2fa_backup_code_used", owner, LOCAL)
        )
        assert trail.details["login_success"] == [{"method": "backup_code"}]
        assert trail.details["2fa_backup_code_used"] == [{"remaining": 9}]
        used = [r for r in backup_rows(server) if r.used_at is not None]
        assert [r.used_at for r in used] == [clock.now_ms()]

        token = challenge(server)
        refused_counting(
            server.services,
            lambda: client.auth.verify_2fa_code(first, token),
            "2FA_INVALID_CODE",
            400,
        )
        assert trail.new() == [("2fa_failed", owner, LOCAL)]
        # Typed by hand: upper case, no hyphen, spaces around.
        typed = f" {second.replace('-', '').upper()} "
        assert client.auth.verify_2fa_code(typed, token)["user"]["id"] == owner
    assert len([r for r in backup_rows(server) if r.used_at is None]) == 8


def test_wrong_codes_are_refused_and_counted(server: LiveServer, admin: IpcClient) -> None:
    setup = enrol(admin)
    owner = setup["user_id"]
    token = challenge(server)
    trail = Trail(server.services)
    with server.client() as client:
        for code in (wrong_code(setup["secret"]), "abcd-efgh", "12345", "not a code"):
            refused_counting(
                server.services,
                partial(client.auth.verify_2fa_code, code, token),
                "2FA_INVALID_CODE",
                400,
            )
        assert trail.new() == [("2fa_failed", owner, LOCAL)] * 4
        assert lockout_columns(server.services, OWNER)[0] == 4
        # Not a string, or no code at all: a malformed request, not an attempt.
        for args in ({"code": 123456}, {"code": None}, {}, {"code": "1" * 65}):
            refused(
                server.services,
                partial(client.call, "verify_2fa_code", {**args, "session_token": token}),
                "VALIDATION_ERROR",
                400,
            )
        assert trail.new() == []
        assert client.token is None


def test_five_wrong_codes_lock_the_account(server: LiveServer, admin: IpcClient) -> None:
    setup = enrol(admin)
    owner = setup["user_id"]
    token = challenge(server)
    bad = wrong_code(setup["secret"])
    trail = Trail(server.services)
    with server.client() as client:
        for _ in range(5):
            refused_counting(
                server.services,
                lambda: client.auth.verify_2fa_code(bad, token),
                "2FA_INVALID_CODE",
                400,
            )
        assert trail.new() == events(
            *[("2fa_failed", owner, LOCAL)] * 5, ("account_locked", owner, LOCAL)
        )
        # Locked: the right code is refused too, and so is the right password.
        good = code_at(setup["secret"], clock.now())
        refused_counting(
            server.services,
            lambda: client.auth.verify_2fa_code(good, token),
            "2FA_INVALID_CODE",
            400,
        )
        assert trail.new() == [("2fa_failed", owner, LOCAL)]
        refused_counting(
            server.services,
            lambda: client.auth.login(OWNER, ADMIN_PASSWORD),
            "AUTH_INVALID",
            401,
        )
        clock.advance(timedelta(minutes=15))
        assert client.auth.verify_2fa_code(
            code_at(setup["secret"], clock.now()), challenge(server)
        )["access_token"]


def test_a_password_alone_does_not_reset_the_count(server: LiveServer, admin: IpcClient) -> None:
    setup = enrol(admin)
    bad = wrong_code(setup["secret"])
    with server.client() as client:
        for _ in range(4):
            token = challenge(server)
            refused_counting(
                server.services,
                partial(client.auth.verify_2fa_code, bad, token),
                "2FA_INVALID_CODE",
            )
        # A fresh challenge (the password was right) gives no fresh guesses.
        token = challenge(server)
        assert lockout_columns(server.services, OWNER)[0] == 4
        refused_counting(
            server.services, lambda: client.auth.verify_2fa_code(bad, token), "2FA_INVALID_CODE"
        )
    assert lockout_columns(server.services, OWNER)[2] is not None


def test_a_session_can_reverify(server: LiveServer, admin: IpcClient) -> None:
    owner = user_id_of(server.services, OWNER)
    refused(
        server.services,
        lambda: admin.auth.verify_2fa_code("123456"),
        "2FA_NOT_ENABLED",
        400,
    )
    setup = enrol(admin)
    token = admin.token
    trail = Trail(server.services)
    assert admin.auth.verify_2fa_code(code_at(setup["secret"], clock.now())) is True
    assert admin.token == token  # a re-verification keeps the session as it is
    assert admin.auth.verify_2fa_code(setup["backup_codes"][0]) is True
    assert trail.new() == [("2fa_backup_code_used", owner, LOCAL)]
    refused_counting(
        server.services,
        lambda: admin.auth.verify_2fa_code(wrong_code(setup["secret"])),
        "2FA_INVALID_CODE",
        400,
    )
    assert trail.new() == [("2fa_failed", owner, LOCAL)]
    assert trail.details["2fa_failed"] == [{"stage": "reverify", "attempt": 1}]
    admin.auth.logout()
    with server.client(token=token) as stale:
        refused(
            server.services,
            lambda: stale.auth.verify_2fa_code(code_at(setup["secret"], clock.now() + STEP)),
            "AUTH_SESSION_INVALID",
            401,
        )


def test_disable_needs_the_password(server: LiveServer, admin: IpcClient) -> None:
    setup = enrol(admin)
    owner = setup["user_id"]
    trail = Trail(server.services)
    error = refused(
        server.services, lambda: admin.auth.disable_2fa("Wrong-Password-9"), "AUTH_INVALID", 401
    )
    assert error.message == "Invalid password"
    refused(
        server.services,
        lambda: admin.call("disable_2fa", {"password": 42}),
        "VALIDATION_ERROR",
        400,
    )
    assert trail.new() == []
    assert admin.auth.is_2fa_enabled() is True

    assert admin.auth.disable_2fa(ADMIN_PASSWORD) == "Two-factor authentication disabled"
    assert trail.new() == [("2fa_disabled", owner, LOCAL)]
    assert admin.auth.is_2fa_enabled() is False
    row = users_row(server)
    assert (row.two_factor_enabled, row.two_factor_secret, row.two_factor_last_step) == (
        False,
        None,
        None,
    )
    assert backup_rows(server) == []
    with server.client() as client:
        assert client.auth.login(OWNER, ADMIN_PASSWORD)["access_token"] == client.token
    refused(server.services, lambda: admin.auth.disable_2fa(ADMIN_PASSWORD), "2FA_NOT_ENABLED", 400)


def test_regenerate_replaces_every_backup_code(server: LiveServer, admin: IpcClient) -> None:
    refused(server.services, admin.auth.regenerate_backup_codes, "2FA_NOT_ENABLED", 400)
    setup = enrol(admin)
    owner = setup["user_id"]
    trail = Trail(server.services)
    fresh = admin.auth.regenerate_backup_codes()
    assert len(fresh) == len(set(fresh)) == 10
    assert all(BACKUP_CODE.fullmatch(c) for c in fresh)
    assert not set(fresh) & set(setup["backup_codes"])
    assert trail.new() == [("2fa_backup_codes_regenerated", owner, LOCAL)]
    assert len(backup_rows(server)) == 10
    with server.client() as client:
        token = challenge(server)
        refused_counting(
            server.services,
            lambda: client.auth.verify_2fa_code(setup["backup_codes"][0], token),
            "2FA_INVALID_CODE",
            400,
        )
        assert client.auth.verify_2fa_code(fresh[0], token)["user"]["id"] == owner


def test_2fa_commands_need_a_session(server: LiveServer, admin: IpcClient) -> None:
    with server.client() as anon:
        for call in (
            anon.auth.enable_2fa,
            anon.auth.is_2fa_enabled,
            anon.auth.regenerate_backup_codes,
            lambda: anon.auth.disable_2fa(ADMIN_PASSWORD),
            lambda: anon.auth.verify_2fa_setup("x", "123456"),
        ):
            refused(server.services, call, "AUTH_SESSION_INVALID", 401)


@pytest.mark.parametrize("role", ["technician", "viewer"])
def test_every_role_may_use_2fa(server: LiveServer, admin: IpcClient, role: str) -> None:
    email = f"{role}@shop.example"
    user = make_user(admin, server, role, email=email)
    setup = enrol(user)
    assert user.auth.is_2fa_enabled() is True
    with server.client() as client:
        answer = client.auth.login(email, USER_PASSWORD)
        assert answer["requires_2fa"] is True
        signed_in = client.auth.verify_2fa_code(
            code_at(setup["secret"], clock.now()), answer["challenge_token"]
        )
        assert signed_in["user"]["role"] == role
    user.close()
