"""The WebSocket side of the wire contract, shared by the sync and async clients."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgpack as _msgpack

from .codec import dump_json, pack, unpack
from .errors import TransportError

__all__ = ["decode_frame", "encode_frame", "with_session_token", "ws_url"]

_WS_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def ws_url(base_url: str) -> str:
    """`http://host:8000/prefix` -> `ws://host:8000/prefix/ipc`."""
    parts = urlsplit(base_url)
    scheme = _WS_SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"unsupported URL scheme for the WebSocket transport: {base_url!r}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ipc", "", ""))


def with_session_token(args: Mapping[str, Any], token: str | None) -> dict[str, Any]:
    """A WebSocket frame has no headers, so the client's token travels in the args."""
    out = dict(args)
    if token and "session_token" not in out and "token" not in out:
        out["session_token"] = token
    return out


def encode_frame(
    request_id: int,
    command: str,
    args: Mapping[str, Any],
    *,
    token: str | None,
    msgpack: bool,
    compression: bool,
) -> str | bytes:
    frame: dict[str, Any] = {
        "id": request_id,
        "command": command,
        "args": with_session_token(args, token),
    }
    if compression:
        frame["compression"] = "gzip"
    # Binary frames are MessagePack and text frames JSON, on both sides.
    return pack(frame) if msgpack else dump_json(frame).decode()


def decode_frame(message: str | bytes) -> Mapping[str, Any]:
    try:
        frame = unpack(message) if isinstance(message, bytes) else json.loads(message)
    except (ValueError, TypeError, _msgpack.UnpackException) as exc:
        raise TransportError(f"undecodable WebSocket frame: {exc}") from exc
    if not isinstance(frame, Mapping):
        raise TransportError("WebSocket frame is not an object", details=frame)
    return frame
