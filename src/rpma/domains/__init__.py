"""One folder per domain; importing the command modules registers their commands."""

import importlib

COMMAND_MODULES = (
    "auth.commands",
    "auth.twofactor_commands",
    "auth.session_commands",
    "users.commands",
    "clients.commands",
    "tasks.commands",
    "interventions.commands",
    "security.commands",
    "system.commands",
    "system.websocket_commands",
    "streams.commands",
    "photos.commands",
    "settings.commands",
    "navigation.commands",
    "performance.commands",
    "ui.commands",
    "materials.commands",
    "calendar.commands",
    "reports.commands",
    "reports.export_commands",
    "reports.handover_commands",
    "notifications.commands",
    "sync.commands",
)


def load_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"rpma.domains.{name}")
