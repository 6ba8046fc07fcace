"""Notification commands (seed: "Notification Commands"; docs/NOTIFICATIONS.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["NotificationsApi"]


class NotificationsApi(Namespace[R]):
    # Configuration (admin) -------------------------------------------------------------
    def initialize(self, **config: Any) -> R:
        """`initialize_notification_service`: only the fields given change."""
        return self._call("initialize_notification_service", config)

    def get_config(self) -> R:
        return self._call("get_notification_config")

    def test_config(self, recipient: str, channel: str) -> R:
        """Answers the provider's reply as a sentence."""
        return self._call("test_notification_config", {"recipient": recipient, "channel": channel})

    def templates(self) -> R:
        return self._call("notification_get_templates")

    def update_template(self, notification_type: str, **parts: Any) -> R:
        """`subject`, `body_text`, `body_html`, or `reset=True`."""
        return self._call(
            "notification_update_template", {"notification_type": notification_type, **parts}
        )

    def dead_letters(self, page: int | None = None, page_size: int | None = None) -> R:
        return self._call("notification_list_dead_letters", fields(page=page, page_size=page_size))

    def retry_dead_letters(self, ids: Sequence[str] = (), *, all: bool = False) -> R:
        return self._call("notification_retry_dead_letters", {"ids": list(ids), "all": all})

    # Sending (admin, supervisor) --------------------------------------------------------
    def send(
        self,
        user_id: str,
        notification_type: str,
        recipient: str,
        variables: Mapping[str, str] | None = None,
        in_app: bool | None = None,
    ) -> R:
        return self._call(
            "send_notification",
            {
                "user_id": user_id,
                "notification_type": notification_type,
                "recipient": recipient,
                **fields(variables=dict(variables) if variables else None, in_app=in_app),
            },
        )

    # One's own (every role) -------------------------------------------------------------
    def list(
        self, page: int | None = None, page_size: int | None = None, unread_only: bool = False
    ) -> R:
        return self._call(
            "notification_list",
            {**fields(page=page, page_size=page_size), "unread_only": unread_only},
        )

    def mark_read(self, notification_id: str) -> R:
        return self._call("notification_mark_read", {"notification_id": notification_id})

    def mark_all_read(self) -> R:
        return self._call("notification_mark_all_read")

    def preferences(self) -> R:
        return self._call("notification_get_preferences")

    def update_preferences(self, preferences: Sequence[Mapping[str, Any]]) -> R:
        """`[{notification_type, channel, enabled}]`."""
        return self._call(
            "notification_update_preferences", {"preferences": [dict(p) for p in preferences]}
        )
