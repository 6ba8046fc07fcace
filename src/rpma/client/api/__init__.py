"""Namespaces mirroring the seed's `ipcClient`, shared by both clients.

A new namespace is a `Namespace[R]` subclass in its own module plus one line in
`Namespaces.__init__`.
"""

from __future__ import annotations

from typing import Generic

from ._base import Invoker, Namespace, R, Then, fields
from .auth import AuthApi
from .calendar import CalendarApi
from .clients import ClientsApi
from .exports import ExportsApi
from .interventions import InterventionsApi
from .materials import MaterialsApi
from .navigation import NavigationApi
from .notifications import NotificationsApi
from .performance import PerformanceApi
from .photos import PhotosApi
from .reports import ReportsApi
from .sessions import SessionsApi
from .settings import SettingsApi
from .streams import StreamsApi
from .sync import SyncApi
from .system import SystemApi
from .tasks import TasksApi
from .ui import UiApi
from .users import UsersApi

__all__ = [
    "AuthApi",
    "CalendarApi",
    "ClientsApi",
    "ExportsApi",
    "InterventionsApi",
    "Invoker",
    "MaterialsApi",
    "Namespace",
    "Namespaces",
    "NavigationApi",
    "NotificationsApi",
    "PerformanceApi",
    "PhotosApi",
    "ReportsApi",
    "SessionsApi",
    "SettingsApi",
    "StreamsApi",
    "SyncApi",
    "SystemApi",
    "TasksApi",
    "Then",
    "UiApi",
    "UsersApi",
    "fields",
]


class Namespaces(Generic[R]):
    def __init__(self, client: Invoker[R]) -> None:
        self.auth = AuthApi(client)
        self.calendar = CalendarApi(client)
        self.clients = ClientsApi(client)
        self.exports = ExportsApi(client)
        self.interventions = InterventionsApi(client)
        self.materials = MaterialsApi(client)
        self.navigation = NavigationApi(client)
        self.notifications = NotificationsApi(client)
        self.performance = PerformanceApi(client)
        self.photos = PhotosApi(client)
        self.reports = ReportsApi(client)
        self.sessions = SessionsApi(client)
        self.settings = SettingsApi(client)
        self.streams = StreamsApi(client)
        self.sync = SyncApi(client)
        self.system = SystemApi(client)
        self.tasks = TasksApi(client)
        self.ui = UiApi(client)
        self.users = UsersApi(client)
