"""The HTTP side of the wire contract, shared by the sync and async clients."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from .codec import JSON, MSGPACK, decode_body, dump_json, pack, parse_retry_after, unwrap

__all__ = ["HttpRequest", "build_request", "read_response"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    path: str
    headers: dict[str, str]
    content: bytes


def build_request(
    command: str,
    args: Mapping[str, Any],
    *,
    token: str | None,
    msgpack: bool,
    compression: bool,
) -> HttpRequest:
    media_type = MSGPACK if msgpack else JSON
    headers = {"Content-Type": media_type, "Accept": media_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if compression:
        headers["X-IPC-Compression"] = "gzip"
    body = pack(dict(args)) if msgpack else dump_json(dict(args))
    # Quoting keeps a hostile command name from escaping the /ipc/ prefix.
    return HttpRequest(f"/ipc/{quote(command, safe='')}", headers, body)


def read_response(response: httpx.Response) -> Any:
    status = response.status_code
    envelope = decode_body(response.content, response.headers.get("content-type"), status=status)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return unwrap(envelope, status=status, retry_after=retry_after)
