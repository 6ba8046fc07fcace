"""Chunked transfers (seed: Streaming Commands; CONTRACT.md sections 5 and 8).

meta = client.streams.start("upload-1", len(payload), "image/jpeg",
                            checksum=hashlib.sha256(payload).hexdigest())
for index, chunk in enumerate(chunks(payload, meta["chunk_size"])):
    client.streams.send_chunk("upload-1", index, chunk)
client.streams.get_data("upload-1")["data"]  # base64
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["StreamsApi", "chunks"]


def chunks(payload: bytes, chunk_size: int) -> Iterator[bytes]:
    """``payload`` cut as the server expects: ``chunk_size`` bytes each, the remainder last."""
    for start in range(0, len(payload), chunk_size):
        yield payload[start : start + chunk_size]


class StreamsApi(Namespace[R]):
    def start(
        self,
        stream_id: str,
        total_size: int,
        content_type: str,
        *,
        chunk_size: int | None = None,
        checksum: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> R:
        """`start_stream_transfer`; answers the seed's `StreamMetadata`."""
        return self._call(
            "start_stream_transfer",
            {
                "stream_id": stream_id,
                "total_size": total_size,
                "content_type": content_type,
                **fields(
                    chunk_size=chunk_size,
                    checksum=checksum,
                    metadata=dict(metadata) if metadata is not None else None,
                ),
            },
        )

    def send_chunk(
        self, stream_id: str, chunk_index: int, data: bytes | str, *, is_last: bool | None = None
    ) -> R:
        """`send_stream_chunk`. Bytes travel raw over MessagePack and base64 over JSON;
        a `str` is sent as it is (already base64). Answers `{stream_id,
        received_chunks, total_chunks, complete, checksum?}`."""
        if isinstance(data, bytes | bytearray | memoryview):
            raw = bytes(data)
            msgpack = getattr(self._client, "encoding", "json") == "msgpack"
            data = raw if msgpack else base64.b64encode(raw).decode("ascii")
        return self._call(
            "send_stream_chunk",
            {
                "stream_id": stream_id,
                "chunk_index": chunk_index,
                "chunk_data": data,
                **fields(is_last=is_last),
            },
        )

    def get_data(self, stream_id: str) -> R:
        """`get_stream_data`; answers `{data (base64), checksum, total_size, content_type}`."""
        return self._call("get_stream_data", {"stream_id": stream_id})
