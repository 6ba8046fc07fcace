"""Namespaces mirroring the seed's `ipcClient`, shared by both clients.

A new namespace is a `Namespace[R]` subclass in its own module plus one line in
`Namespaces.__init__`.
"""

from __future__ import annotations

from typing import Generic

from ._base import Invoker, Namespace, R, Then, fields
from .auth import AuthApi
from .clients import ClientsApi
from .interventions import InterventionsApi
from .photos import PhotosApi
from .sessions import SessionsApi
from .streams import StreamsApi
from .system import SystemApi
from .tasks import TasksApi
from .users import UsersApi

__all__ = [
    "AuthApi",
    "ClientsApi",
    "InterventionsApi",
    "Invoker",
    "Namespace",
    "Namespaces",
    "PhotosApi",
    "SessionsApi",
    "StreamsApi",
    "SystemApi",
    "TasksApi",
    "Then",
    "UsersApi",
    "fields",
]


class Namespaces(Generic[R]):
    def __init__(self, client: Invoker[R]) -> None:
        self.auth = AuthApi(client)
        self.clients = ClientsApi(client)
        self.interventions = InterventionsApi(client)
        self.photos = PhotosApi(client)
        self.sessions = SessionsApi(client)
        self.streams = StreamsApi(client)
        self.system = SystemApi(client)
        self.tasks = TasksApi(client)
        self.users = UsersApi(client)
