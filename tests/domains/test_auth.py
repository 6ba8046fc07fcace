"""Sign-in through the real HTTP transport: accounts, login, logout, validation, refresh,
and every way a token can be bad."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from functools import partial

import jwt
import pytest

from rpma.client import IpcClient, IpcError
from rpma.core.clock import clock
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, LiveServer, make_user
from tests.domains.test_lockout import LOCAL, OWNER, Trail, events, refused_counting, user_id_of
from tests.helpers import count, refused

NEW_USER = {
    "email": "Tech.One@Shop.Example",
    "first_name": "Tomás",
    "last_name": "O'Neil",
    "password": USER_PASSWORD,
    "role": "technician",
}


def test_first_account_is_open_and_is_an_admin(server: LiveServer, anon: IpcClient) -> None:
    answer = anon.call(
        "auth_create_account",
        {
            "email": "Owner@Shop.Example",
            "first_name": "Olive",
            "last_name": "Owner",
            "password": ADMIN_PASSWORD,
            "role": "viewer",
        },
    )
    assert answer["user"]["role"] == "admin"  # the first account always administers
    assert answer["user"]["email"] == "owner@shop.example"
    assert answer["user"]["username"] == "owner"
    assert answer["user"]["full_name"] == "Olive Owner"
    assert set(answer) == {"access_token", "refresh_token", "user", "expires_at"}
    assert "password_hash" not in json.dumps(answer)
    assert count(server.services, "users") == 1
    assert count(server.services, "sessions") == 1


def test_after_setup_only_an_admin_creates_accounts(server: LiveServer, admin: IpcClient) -> None:
    with server.client() as anon:
        refused(
            server.services,
            lambda: anon.call("auth_create_account", NEW_USER),
            "AUTH_SESSION_INVALID",
            401,
        )
    created = admin.call("auth_create_account", NEW_USER)
    assert created["user"]["role"] == "technician"
    assert created["user"]["first_name"] == "Tomás"
    with server.client(token=created["access_token"]) as tech:
        other = {**NEW_USER, "email": "second@shop.example"}
        refused(
            server.services, lambda: tech.call("auth_create_account", other), "AUTH_FORBIDDEN", 403
        )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"email": "not-an-email"}, "VALIDATION_EMAIL_INVALID"),
        ({"email": "a@<script>.com"}, "VALIDATION_EMAIL_INVALID"),
        ({"password": "short1!"}, "VALIDATION_PASSWORD_WEAK"),
        ({"password": "Password123!"}, "VALIDATION_PASSWORD_WEAK"),
        ({"first_name": "X"}, "VALIDATION_ERROR"),
        ({"first_name": "<b>Bob</b>"}, "VALIDATION_ERROR"),
        ({"role": "owner"}, "VALIDATION_ERROR"),
        ({"first_name": 42}, "VALIDATION_ERROR"),
    ],
)
def test_create_account_refuses_bad_input(
    server: LiveServer, admin: IpcClient, change: dict[str, object], code: str
) -> None:
    error = refused(
        server.services,
        lambda: admin.call("auth_create_account", {**NEW_USER, **change}),
        code,
        400,
    )
    assert error.details["fields"][0]["field"] in change


def test_email_taken_is_refused_whatever_its_case(server: LiveServer, admin: IpcClient) -> None:
    admin.call("auth_create_account", NEW_USER)
    error = refused(
        server.services,
        lambda: admin.call("auth_create_account", {**NEW_USER, "email": "TECH.ONE@shop.example"}),
        "VALIDATION_EMAIL_TAKEN",
        400,
    )
    assert error.message == "Email already in use"


def test_missing_fields_are_named(server: LiveServer, anon: IpcClient) -> None:
    error = refused(
        server.services, lambda: anon.call("auth_create_account", {}), "VALIDATION_ERROR", 400
    )
    named = {f["field"] for f in error.details["fields"]}
    assert named == {"email", "first_name", "last_name", "password"}


def test_login_answers_tokens_and_records_the_session(server: LiveServer, admin: IpcClient) -> None:
    with server.client() as client:
        answer = client.auth.login("OWNER@shop.example", ADMIN_PASSWORD)
        assert answer["user"]["email"] == "owner@shop.example"
        assert answer["user"]["last_login_at"] is not None
        expected_expiry = clock.now_ms() + 8 * 3600 * 1000
        assert abs(answer["expires_at"] - expected_expiry) < 5000
        assert (
            client.call("auth_validate_session", {"token": answer["access_token"]})["user"]["id"]
            == answer["user"]["id"]
        )
    assert count(server.services, "sessions") == 2


def test_unknown_email_and_wrong_password_look_the_same(
    server: LiveServer, admin: IpcClient
) -> None:
    with server.client() as client:
        answers = {}
        for label, email, password in [
            ("unknown", "nobody@shop.example", ADMIN_PASSWORD),
            ("wrong", "owner@shop.example", "Not-The-Password-1"),
        ]:
            # A failed sign-in writes on purpose (its event, the account's failure count).
            error = refused_counting(
                server.services, partial(client.auth.login, email, password), "AUTH_INVALID", 401
            )
            answers[label] = (error.code, error.message, error.details)
        assert answers["unknown"] == answers["wrong"]
        # Both paths verify one Argon2 hash; the timing figures themselves are in bench/.


def test_logout_ends_the_session_for_real(server: LiveServer, admin: IpcClient) -> None:
    token = admin.token
    admin.auth.logout()
    with server.client(token=token) as stale:
        refused(
            server.services,
            lambda: stale.call("auth_validate_session", {"token": token}),
            "AUTH_SESSION_INVALID",
            401,
        )
        refused(
            server.services, lambda: stale.call("get_database_stats"), "AUTH_SESSION_INVALID", 401
        )
        refused(
            server.services,
            lambda: stale.call("auth_logout", {"token": token}),
            "AUTH_SESSION_INVALID",
            401,
        )


def test_validate_session_reads_the_header_too(server: LiveServer, admin: IpcClient) -> None:
    answer = admin.call("auth_validate_session", {})
    assert answer["user"]["role"] == "admin"


def test_refresh_rotates_and_is_single_use(server: LiveServer, admin: IpcClient) -> None:
    first_refresh = admin.refresh_token
    assert first_refresh
    rotated = admin.call("auth_refresh_token", {"refresh_token": first_refresh})
    assert rotated["refresh_token"] != first_refresh
    assert set(rotated) == {"access_token", "refresh_token", "expires_at"}
    with server.client(token=rotated["access_token"]) as fresh:
        assert fresh.call("auth_validate_session", {})["user"]["email"] == "owner@shop.example"
        # The old refresh token again: reuse, so the whole session ends.
        with server.client() as thief:
            error = refused_and_revoked(server, thief, first_refresh)
            assert "already used" in error
        for token_field in ({}, {"token": rotated["access_token"]}):
            with pytest.raises(IpcError) as caught:
                fresh.call("auth_validate_session", token_field)
            assert getattr(caught.value, "code", None) == "AUTH_SESSION_INVALID"
        with pytest.raises(IpcError) as caught:
            fresh.call("auth_refresh_token", {"refresh_token": rotated["refresh_token"]})
        assert getattr(caught.value, "code", None) == "AUTH_SESSION_INVALID"


def refused_and_revoked(server: LiveServer, client: IpcClient, refresh_token: str) -> str:
    with pytest.raises(IpcError) as caught:
        client.call("auth_refresh_token", {"refresh_token": refresh_token})
    assert getattr(caught.value, "code", None) == "AUTH_SESSION_INVALID"
    return str(caught.value)


def test_access_token_expires_after_eight_hours(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    with server.client(token=admin.token) as client:
        clock.advance(timedelta(hours=7, minutes=59))
        assert client.call("auth_validate_session", {})["user"]["role"] == "admin"
        clock.advance(timedelta(minutes=2))
        refused(
            server.services,
            lambda: client.call("auth_validate_session", {}),
            "AUTH_SESSION_EXPIRED",
            401,
        )
        # The refresh token still works and gives a fresh access token.
        fresh = client.call("auth_refresh_token", {"refresh_token": admin.refresh_token})
        assert client.call("auth_validate_session", {"token": fresh["access_token"]})


def test_refresh_token_expires_after_thirty_days(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    clock.advance(timedelta(days=30, seconds=1))
    refused(
        server.services,
        lambda: admin.call("auth_refresh_token", {"refresh_token": admin.refresh_token}),
        "AUTH_SESSION_EXPIRED",
        401,
    )


def _forge(payload: dict[str, object], key: str, alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg)


def _claims(token: str) -> dict[str, object]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _none_token(payload: dict[str, object]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}."


@pytest.mark.parametrize(
    "forgery",
    ["garbage", "none_alg", "other_key", "refresh_as_access", "not_yet_valid", "hs512", "no_sid"],
)
def test_bad_tokens_are_refused(server: LiveServer, admin: IpcClient, forgery: str) -> None:
    claims = _claims(admin.token or "")
    key = server.services.settings.secret_key or ""
    now = int(clock.now().timestamp())
    token = {
        "garbage": "not.a.jwt",
        "none_alg": _none_token(claims),
        "other_key": _forge(claims, "another-key-that-is-long-enough-000000"),
        "refresh_as_access": admin.refresh_token or "",
        "not_yet_valid": _forge({**claims, "nbf": now + 3600, "exp": now + 7200}, key),
        "hs512": _forge(claims, key, "HS512"),
        "no_sid": _forge({k: v for k, v in claims.items() if k != "sid"}, key),
    }[forgery]
    with server.client(token=token) as client:
        refused(
            server.services, lambda: client.call("get_database_stats"), "AUTH_SESSION_INVALID", 401
        )
        refused(
            server.services,
            lambda: client.call("auth_validate_session", {"token": token}),
            "AUTH_SESSION_INVALID",
            401,
        )


def test_access_token_is_not_a_refresh_token(server: LiveServer, admin: IpcClient) -> None:
    refused(
        server.services,
        lambda: admin.call("auth_refresh_token", {"refresh_token": admin.token}),
        "AUTH_SESSION_INVALID",
        401,
    )


def test_a_role_change_applies_at_once(server: LiveServer, admin: IpcClient) -> None:
    tech = make_user(admin, server, "technician")
    refused(server.services, lambda: tech.call("get_database_stats"), "AUTH_FORBIDDEN", 403)
    tech.close()


def test_password_is_never_stored_in_clear(server: LiveServer, admin: IpcClient) -> None:
    with server.services.db.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users").scalar_one()
    assert stored.startswith("$argon2id$")
    assert ADMIN_PASSWORD not in stored


def test_sign_in_and_out_are_in_the_security_trail(server: LiveServer, admin: IpcClient) -> None:
    owner = user_id_of(server.services, OWNER)
    trail = Trail(server.services)
    with server.client() as client:
        client.auth.login(OWNER, ADMIN_PASSWORD)
        assert trail.new() == [("login_success", owner, LOCAL)]
        client.auth.refresh_token()
        assert trail.new() == [("token_refreshed", owner, LOCAL)]
        client.auth.logout()
        assert trail.new() == [("logout", owner, LOCAL)]


def test_refresh_token_reuse_is_recorded_with_the_revocation(
    server: LiveServer, admin: IpcClient
) -> None:
    owner = user_id_of(server.services, OWNER)
    first_refresh = admin.refresh_token
    admin.auth.refresh_token()
    trail = Trail(server.services)
    with server.client() as thief:
        refused_and_revoked(server, thief, first_refresh or "")
    assert trail.new() == [("refresh_token_reuse", owner, LOCAL)]
    assert trail.details["refresh_token_reuse"][0]["session_id"]
    with server.services.db.engine.connect() as conn:
        reasons = conn.exec_driver_sql("SELECT revoke_reason FROM sessions").scalars().all()
    assert reasons == ["refresh_token_reuse"]


def test_failed_sign_ins_are_in_the_security_trail(server: LiveServer, admin: IpcClient) -> None:
    owner = user_id_of(server.services, OWNER)
    trail = Trail(server.services)
    with server.client() as client:
        for email in ("nobody@shop.example", OWNER):
            refused_counting(
                server.services,
                partial(client.auth.login, email, "Not-The-Password-1"),
                "AUTH_INVALID",
                401,
            )
    assert trail.new() == events(("login_failed", None, LOCAL), ("login_failed", owner, LOCAL))
