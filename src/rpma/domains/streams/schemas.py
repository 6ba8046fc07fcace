"""What a stream looks like on the wire (seed: Streaming Response, Streaming Commands;
CONTRACT.md sections 5 and 8).

``chunk_data`` is base64 text in JSON and raw bytes in MessagePack; both arrive here
as ``bytes`` (the base64 is decoded strictly: a stray character is refused, not
skipped).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from rpma.core.commands import IpcRequest
from rpma.core.validation import FieldValidationError, as_pydantic, clean_text, invalid

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "ChunkReceipt",
    "GetStreamDataRequest",
    "StartStreamRequest",
    "StreamChunkRequest",
    "StreamData",
    "StreamMetadata",
]

KIB: Final = 1024
MIB: Final = 1024 * KIB
DEFAULT_CHUNK_SIZE: Final = MIB
MIN_CHUNK_SIZE: Final = 64 * KIB
MAX_CHUNK_SIZE: Final = 8 * MIB
MAX_METADATA_BYTES: Final = 16 * KIB
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"

_TOKEN: Final = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*"
_MEDIA_TYPE_RE: Final = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;.*)?", re.ASCII | re.DOTALL)


def _content_type(value: str) -> str:
    cleaned = clean_text(value, 100, field="content_type")
    if not cleaned:  # a browser's File.type is "" when it does not know the kind
        return DEFAULT_CONTENT_TYPE
    if _MEDIA_TYPE_RE.fullmatch(cleaned) is None:
        raise FieldValidationError(
            "VALIDATION_ERROR", "content_type must be a media type such as image/jpeg."
        )
    return cleaned


def _metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value, ensure_ascii=False)) > MAX_METADATA_BYTES:
        raise invalid(
            "metadata may hold at most {limit} bytes of JSON",
            {"limit": MAX_METADATA_BYTES},
        )
    return value


def _base64(value: Any) -> Any:
    """Text is base64 (JSON); bytes pass as they are (MessagePack); anything else is
    left for the strict ``bytes`` check to refuse."""
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("chunk_data is not valid base64 (standard alphabet, padded)") from None


StreamId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="1 to 64 of A-Z a-z 0-9 _ -, chosen by the client",
    ),
]
Sha256Hex = Annotated[
    str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the whole payload, lower hex")
]
ContentType = Annotated[str, AfterValidator(as_pydantic(_content_type))]
ChunkBytes = Annotated[
    bytes,
    BeforeValidator(_base64),
    Field(description="base64 in JSON, raw bytes in MessagePack"),
]


# Requests --------------------------------------------------------------------------------
class StartStreamRequest(IpcRequest):
    stream_id: StreamId
    total_size: int = Field(ge=1, description="bytes; at most RPMA_STREAM_MAX_BYTES")
    content_type: ContentType = Field(description='e.g. "image/jpeg"; "" is octet-stream')
    chunk_size: int = Field(
        default=DEFAULT_CHUNK_SIZE, ge=MIN_CHUNK_SIZE, le=MAX_CHUNK_SIZE, description="bytes"
    )
    checksum: Sha256Hex | None = None
    metadata: Annotated[dict[str, Any] | None, AfterValidator(_metadata)] = None


class StreamChunkRequest(IpcRequest):
    stream_id: StreamId
    chunk_index: int = Field(ge=0)
    chunk_data: ChunkBytes
    is_last: bool | None = Field(
        default=None, description="when given, must be true exactly for the last index"
    )


class GetStreamDataRequest(IpcRequest):
    stream_id: StreamId


# Answers ---------------------------------------------------------------------------------
class StreamMetadata(BaseModel):
    """The seed's StreamMetadata. ``checksum`` is the expected SHA-256 when one was
    given, the computed one once the stream is complete, else ``""``."""

    stream_id: str
    total_size: int
    total_chunks: int
    chunk_size: int
    content_type: str
    checksum: str


class ChunkReceipt(BaseModel):
    """The answer to ``send_stream_chunk`` (the seed says void). ``checksum`` appears
    once the last chunk has arrived and the payload is verified."""

    stream_id: str
    received_chunks: int
    total_chunks: int
    complete: bool
    checksum: str | None = None

    # No return annotation on purpose (see ClientResponse): the OpenAPI document
    # would lose the fields.
    @model_serializer(mode="wrap")
    def _drop_empty(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}


class StreamData(BaseModel):
    """A complete stream's payload (CONTRACT.md section 8)."""

    data: str = Field(description="base64 of the payload")
    checksum: str
    total_size: int
    content_type: str
