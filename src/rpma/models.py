"""Imports every domain's tables so that Base.metadata knows them all."""

from __future__ import annotations


def load_models() -> None:
    import rpma.domains.auth.models
    import rpma.domains.calendar.models
    import rpma.domains.clients.models
    import rpma.domains.interventions.models
    import rpma.domains.materials.models
    import rpma.domains.navigation.models
    import rpma.domains.notifications.models
    import rpma.domains.photos.models
    import rpma.domains.security.models
    import rpma.domains.settings.models
    import rpma.domains.streams.models
    import rpma.domains.sync.models
    import rpma.domains.system.models
    import rpma.domains.tasks.models
    import rpma.domains.ui.models
    import rpma.domains.users.models  # noqa: F401
