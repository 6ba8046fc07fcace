"""Session management and the own-password change (seed: Security Commands
get_active_sessions, revoke_session, update_session_timeout; Settings Commands
settings_change_user_password)."""

from __future__ import annotations

from ._base import Namespace, R, fields

__all__ = ["SessionsApi"]


class SessionsApi(Namespace[R]):
    def active(self, user_id: str | None = None) -> R:
        """The caller's live sessions; an admin may name another user."""
        return self._call("get_active_sessions", fields(user_id=user_id))

    def revoke(self, session_id: str) -> R:
        return self._call("revoke_session", {"session_id": session_id})

    def update_timeout(self, timeout_minutes: int) -> R:
        return self._call("update_session_timeout", {"timeout_minutes": timeout_minutes})

    def change_password(self, current_password: str, new_password: str) -> R:
        """The caller's own password; their other sessions end, this one goes on."""
        return self._call(
            "settings_change_user_password",
            {"current_password": current_password, "new_password": new_password},
        )
