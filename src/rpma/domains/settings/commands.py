"""Settings commands (seed: Settings Commands; CONTRACT.md section 8 for the category
filter). Everyone signed in reads the settings; only an admin changes them, and every
change lands in ``settings_history`` with the value before and after.

``settings_change_user_password`` lives with the auth domain.
"""

from __future__ import annotations

from typing import Any

from rpma.core.commands import command
from rpma.core.context import CommandContext
from rpma.core.permissions import ADMIN, SIGNED_IN
from rpma.domains.notifications.configuration import SECRET_PURPOSE
from rpma.domains.settings import categories
from rpma.domains.settings.schemas import (
    CATEGORIES,
    AppSettings,
    Category,
    GetAppSettingsRequest,
    SettingChangeOut,
    SettingsHistoryRequest,
    UpdateGeneralSettingsRequest,
    UpdateNotificationSettingsRequest,
    UpdatePerformanceSettingsRequest,
    UpdateRequest,
    UpdateSecuritySettingsRequest,
)

AUTH_ERRORS = ["AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED"]
UPDATE_ERRORS = ["AUTH_FORBIDDEN", *AUTH_ERRORS, "VALIDATION_ERROR"]


@command(
    "settings_get_app_settings",
    request=GetAppSettingsRequest,
    response=AppSettings,
    permission=SIGNED_IN,
    writes=False,
    errors=[*AUTH_ERRORS, "VALIDATION_ERROR"],
)
def settings_get_app_settings(ctx: CommandContext, req: GetAppSettingsRequest) -> dict[str, Any]:
    """The shop's settings: `general`, `security`, `notifications` and `performance`, or only
    the `category` asked for (`{category: "security"}` answers `{security: {...}}`)."""
    default = ctx.services.settings.access_token_minutes
    wanted = (req.category,) if req.category else CATEGORIES
    return {name: categories.read_category(ctx.db, name, default) for name in wanted}


def _update(ctx: CommandContext, category: Category, req: UpdateRequest) -> None:
    default = ctx.services.settings.access_token_minutes
    if category == "notifications":
        box = ctx.services.secret_box(SECRET_PURPOSE)
        categories.update_notifications(
            ctx.db,
            box,
            req.changes(),
            actor_id=ctx.user.user_id,
            correlation_id=ctx.correlation_id,
        )
        return
    before = categories.read_category(ctx.db, category, default).model_dump()
    changed = categories.update_category(
        ctx.db,
        category,
        req.changes(),
        actor_id=ctx.user.user_id,
        session_default=default,
        correlation_id=ctx.correlation_id,
    )
    recorder = ctx.services.security_recorder
    if category == "security" and changed and recorder is not None:
        # The session lifetime is a security decision: it also goes to the security trail,
        # as update_session_timeout records it.
        minutes = req.changes()["session_timeout_minutes"]
        recorder(
            ctx.db,
            "session_timeout_changed",
            f"Session timeout set to {minutes} minutes",
            user_id=ctx.user.user_id,
            client=ctx.client,
            old_minutes=before["session_timeout_minutes"],
            new_minutes=minutes,
        )


@command(
    "settings_update_general_settings",
    request=UpdateGeneralSettingsRequest,
    permission=ADMIN,
    errors=UPDATE_ERRORS,
)
def settings_update_general_settings(
    ctx: CommandContext, req: UpdateGeneralSettingsRequest
) -> None:
    """Change the shop's general settings (admin): `company_name` (1 to 200 characters),
    `default_language` (`en`, `fr`, `pt-BR`...), `timezone` (an IANA name such as
    `Europe/Paris`), `date_format` (`YYYY-MM-DD`, `DD/MM/YYYY`, `MM/DD/YYYY`, `DD.MM.YYYY`),
    `theme` (`light`, `dark`, `auto`), `working_hours_start` / `working_hours_end` (HH:MM,
    start before end). Only the fields sent change; each change is audited."""
    _update(ctx, "general", req)


@command(
    "settings_update_security_settings",
    request=UpdateSecuritySettingsRequest,
    permission=ADMIN,
    errors=UPDATE_ERRORS,
)
def settings_update_security_settings(
    ctx: CommandContext, req: UpdateSecuritySettingsRequest
) -> None:
    """Change the security settings (admin): `session_timeout_minutes` (5 to 10080), the
    lifetime of sessions opened from now on. Audited, and recorded as a security event."""
    _update(ctx, "security", req)


@command(
    "settings_update_notification_settings",
    request=UpdateNotificationSettingsRequest,
    permission=ADMIN,
    errors=UPDATE_ERRORS,
)
def settings_update_notification_settings(
    ctx: CommandContext, req: UpdateNotificationSettingsRequest
) -> None:
    """Change the notification service's simple settings (admin): `push_enabled` (in-app
    and push), `notify_clients` (send the shop's clients their notifications), and quiet
    hours `quiet_hours_start` / `quiet_hours_end` (HH:MM in the notification time zone,
    sent together; both null turns them off; an end before the start spans midnight).
    Providers and their credentials are set with `initialize_notification_service`.
    Audited."""
    _update(ctx, "notifications", req)


@command(
    "settings_update_performance_settings",
    request=UpdatePerformanceSettingsRequest,
    permission=ADMIN,
    errors=UPDATE_ERRORS,
)
def settings_update_performance_settings(
    ctx: CommandContext, req: UpdatePerformanceSettingsRequest
) -> None:
    """Change the performance settings (admin): `slow_database_threshold_ms` (0 to 60000;
    `health_check` reports `degraded` when a database round trip takes longer) and
    `stats_window_seconds` (10 to 300; the sliding window of
    `performance_get_performance_stats`). Audited."""
    _update(ctx, "performance", req)


@command(
    "settings_get_history",
    request=SettingsHistoryRequest,
    response=list[SettingChangeOut],
    permission=ADMIN,
    writes=False,
    errors=["AUTH_FORBIDDEN", *AUTH_ERRORS, "VALIDATION_ERROR"],
)
def settings_get_history(
    ctx: CommandContext, req: SettingsHistoryRequest
) -> list[SettingChangeOut]:
    """The audit trail of settings changes (admin), newest first: `key`, `category`,
    `old_value`, `new_value`, `changed_by`, `changed_at`; optionally one `key`, at most
    `limit` rows (1 to 500, default 50)."""
    return categories.history(ctx.db, req.key, req.limit)
