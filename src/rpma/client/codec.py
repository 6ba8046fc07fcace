"""Envelope decoding and the JSON / MessagePack body codecs."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import msgpack
import orjson

from .errors import TransportError, error_from_envelope

__all__ = [
    "JSON",
    "MSGPACK",
    "decode_body",
    "decode_compressed",
    "dump_json",
    "pack",
    "parse_retry_after",
    "unpack",
    "unwrap",
]

JSON = "application/json"
MSGPACK = "application/msgpack"


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False)


def dump_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def decode_body(content: bytes, content_type: str | None, *, status: int | None = None) -> Any:
    """Parse a response body by its declared type; anything unparsable is a TransportError."""
    is_msgpack = content_type is not None and "msgpack" in content_type.lower()
    try:
        return unpack(content) if is_msgpack else orjson.loads(content)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        # A proxy's HTML error page or a truncated body lands here.
        snippet = content[:200].decode("utf-8", "replace")
        raise TransportError(
            f"response is not an RPMA envelope (HTTP {status}): {snippet!r}", status=status
        ) from exc


def decode_compressed(data: Any) -> Any:
    """Decode the `data` of a compressed envelope: base64 of gzip of the JSON of the data."""
    try:
        # MessagePack can carry the gzip bytes without the base64 layer.
        raw = data if isinstance(data, bytes) else base64.b64decode(data, validate=True)
        return orjson.loads(gzip.decompress(raw))
    except (TypeError, ValueError, binascii.Error, OSError, EOFError, zlib.error) as exc:
        raise TransportError(f"corrupt compressed payload: {exc}") from exc


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def unwrap(
    envelope: Any,
    *,
    status: int | None = None,
    retry_after: float | None = None,
) -> Any:
    """Return the `data` of a successful envelope, or raise the matching IpcError."""
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("success"), bool):
        raise TransportError(
            f"response is not an RPMA envelope (HTTP {status})", status=status, details=envelope
        )
    raw_cid = envelope.get("correlation_id")
    correlation_id = raw_cid if isinstance(raw_cid, str) else None
    if not envelope["success"]:
        raise error_from_envelope(envelope.get("error"), status, correlation_id, retry_after)
    data = envelope.get("data")
    if envelope.get("compressed") is True:
        return decode_compressed(data)
    return data
