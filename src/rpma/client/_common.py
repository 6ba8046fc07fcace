"""Configuration and token state shared by the sync and async clients."""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Literal, get_args

from ._http import HttpRequest, build_request
from ._ws import encode_frame, ws_url
from .api import Namespaces, Then
from .api._base import R

__all__ = ["DEFAULT_BASE_URL", "ClientBase", "Encoding", "Transport"]

Transport = Literal["http", "ws"]
Encoding = Literal["json", "msgpack"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class ClientBase(Namespaces[R], ABC):
    """`token` is sent with every call; login, refresh and 2FA update it."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        transport: Transport,
        encoding: Encoding,
        compression: bool,
        timeout: float,
    ) -> None:
        # Literal types do not stop a typo from an untyped caller or a config file.
        if transport not in get_args(Transport):
            raise ValueError(f"transport must be 'http' or 'ws', not {transport!r}")
        if encoding not in get_args(Encoding):
            raise ValueError(f"encoding must be 'json' or 'msgpack', not {encoding!r}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.refresh_token: str | None = None
        self.transport: Transport = transport
        self.encoding: Encoding = encoding
        self.compression = compression
        self.timeout = timeout
        self._ws_url = ws_url(self.base_url) if transport == "ws" else ""
        self._ids = itertools.count(1)
        super().__init__(self)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.base_url!r}, transport={self.transport!r}, "
            f"encoding={self.encoding!r}, authenticated={self.token is not None})"
        )

    @abstractmethod
    def _invoke(self, command: str, args: Mapping[str, Any], then: Then | None = None) -> R:
        """Invoke `command`, then pass the result through `then` (see `Invoker`)."""

    def _http_request(self, command: str, args: Mapping[str, Any]) -> HttpRequest:
        return build_request(
            command,
            args,
            token=self.token,
            msgpack=self.encoding == "msgpack",
            compression=self.compression,
        )

    def _ws_frame(self, command: str, args: Mapping[str, Any]) -> tuple[int, str | bytes]:
        request_id = next(self._ids)
        frame = encode_frame(
            request_id,
            command,
            args,
            token=self.token,
            msgpack=self.encoding == "msgpack",
            compression=self.compression,
        )
        return request_id, frame
