"""`auth_*` and 2FA commands (seed: "Auth Commands", contract section 8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["AuthApi"]


class AuthApi(Namespace[R]):
    def _keep_tokens(self, answer: Any) -> Any:
        # A 2FA challenge answers without tokens; only a full login replaces them.
        if isinstance(answer, Mapping) and isinstance(answer.get("access_token"), str):
            self._client.token = answer["access_token"]
            refresh = answer.get("refresh_token")
            if isinstance(refresh, str):
                self._client.refresh_token = refresh
        return answer

    def login(self, email: str, password: str) -> R:
        return self._call(
            "auth_login", {"email": email, "password": password}, then=self._keep_tokens
        )

    def create_account(
        self,
        email: str,
        first_name: str,
        last_name: str,
        password: str,
        role: str | None = None,
        *,
        log_in: bool | None = None,
    ) -> R:
        """Create an account; the answer carries the new user's tokens.

        `log_in=None` adopts them only when this client has no session yet (the
        first-time setup), so an admin creating accounts keeps their own session.
        """
        adopt = self._client.token is None if log_in is None else log_in
        args = fields(
            email=email, first_name=first_name, last_name=last_name, password=password, role=role
        )
        return self._call("auth_create_account", args, then=self._keep_tokens if adopt else None)

    def logout(self) -> R:
        # Forget the session before the answer: an expired token fails to log
        # out server-side, yet is of no use to keep.
        args = fields(token=self._client.token)
        self._client.token = None
        self._client.refresh_token = None
        return self._call("auth_logout", args)

    def validate_session(self, token: str | None = None) -> R:
        return self._call("auth_validate_session", fields(token=token or self._client.token))

    def refresh_token(self, refresh_token: str | None = None) -> R:
        args = fields(refresh_token=refresh_token or self._client.refresh_token)
        return self._call("auth_refresh_token", args, then=self._keep_tokens)

    def enable_2fa(self) -> R:
        return self._call("enable_2fa")

    def verify_2fa_setup(self, user_id: str, code: str) -> R:
        return self._call("verify_2fa_setup", {"user_id": user_id, "code": code})

    def verify_2fa_code(self, code: str, session_token: str | None = None) -> R:
        """Finish a 2FA login (`session_token` = the challenge token) or re-verify."""
        return self._call(
            "verify_2fa_code",
            fields(code=code, session_token=session_token),
            then=self._keep_tokens,
        )

    def disable_2fa(self, password: str) -> R:
        return self._call("disable_2fa", {"password": password})

    def regenerate_backup_codes(self) -> R:
        return self._call("regenerate_backup_codes")

    def is_2fa_enabled(self) -> R:
        return self._call("is_2fa_enabled")
