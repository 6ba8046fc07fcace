"""Where a stream's bytes live: ``<data_dir>/streams/<stream_id>/<index>.part``.

A chunk is written to a temporary file in the same folder, flushed to disk and then
renamed over its final name, so a crash leaves either the whole chunk or nothing under
``<index>.part`` (a stray ``*.tmp`` never counts and goes with the stream's folder).
Reading walks the parts in order with a fixed buffer: memory stays constant whatever
the payload's size.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from rpma.core.errors import IoError

__all__ = ["BLOCK_SIZE", "PayloadFile", "PayloadReader", "StreamStorage"]

BLOCK_SIZE: Final = 1024 * 1024
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


class StreamStorage:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "streams"

    def folder(self, stream_id: str) -> Path:
        # The request model already restricts ids; checked again because this builds a path.
        if _SAFE_ID.fullmatch(stream_id) is None:
            raise ValueError(f"unsafe stream id {stream_id!r}")
        return self.root / stream_id

    def part(self, stream_id: str, index: int) -> Path:
        return self.folder(stream_id) / f"{int(index)}.part"

    # Writing ---------------------------------------------------------------------------
    def write_chunk(self, stream_id: str, index: int, data: bytes) -> Path:
        """Store one chunk atomically; answers its final path."""
        target = self.part(stream_id, index)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{index}.", suffix=".tmp")
        except OSError as exc:
            raise IoError(message="Could not store the chunk") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise IoError(message="Could not store the chunk") from exc
        return target

    def remove_chunk(self, stream_id: str, index: int) -> None:
        self.part(stream_id, index).unlink(missing_ok=True)

    def remove(self, stream_id: str) -> None:
        """The stream's folder and everything in it; nothing there is fine."""
        shutil.rmtree(self.folder(stream_id), ignore_errors=True)

    # Reading ---------------------------------------------------------------------------
    def blocks(
        self, stream_id: str, total_chunks: int, block_size: int = BLOCK_SIZE
    ) -> Iterator[bytes]:
        """The payload, part after part, in blocks of at most ``block_size`` bytes."""
        for index in range(total_chunks):
            try:
                handle = self.part(stream_id, index).open("rb")
            except OSError as exc:
                raise IoError(message=f"Chunk {index} of the stream is missing on disk") from exc
            with handle:
                while block := handle.read(block_size):
                    yield block

    def digest(self, stream_id: str, total_chunks: int) -> tuple[str, int]:
        """The SHA-256 (lower hex) and the length of the payload, read from disk."""
        sha = hashlib.sha256()
        length = 0
        for block in self.blocks(stream_id, total_chunks):
            sha.update(block)
            length += len(block)
        return sha.hexdigest(), length

    def open(self, stream_id: str, total_size: int, chunk_size: int) -> PayloadFile:
        """The payload as one read-only, seekable binary file."""
        return PayloadFile(PayloadReader(self, stream_id, total_size, chunk_size), BLOCK_SIZE)


class PayloadFile(io.BufferedReader):
    """A complete stream's payload as a read-only, seekable binary file. Iterating it
    yields blocks of up to 1 MiB, not lines (a binary payload has none worth splitting
    on, and one "line" could be the whole payload)."""

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        block = self.read(BLOCK_SIZE)
        if not block:
            raise StopIteration
        return block


class PayloadReader(io.RawIOBase):
    """The parts of a complete stream seen as one file: every part but the last holds
    exactly ``chunk_size`` bytes, so any offset maps to one part and a position in it."""

    def __init__(
        self, storage: StreamStorage, stream_id: str, total_size: int, chunk_size: int
    ) -> None:
        super().__init__()
        self._storage = storage
        self._stream_id = stream_id
        self._size = total_size
        self._chunk_size = chunk_size
        self._position = 0
        self._index = -1
        self._handle: io.BufferedReader | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}
        if whence not in base:
            raise ValueError(f"invalid whence {whence}")
        position = base[whence] + offset
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(buffer).cast("B")
        if not len(view) or self._position >= self._size:
            return 0
        index, offset = divmod(self._position, self._chunk_size)
        handle = self._part(index)
        handle.seek(offset)
        wanted = min(len(view), self._chunk_size - offset, self._size - self._position)
        count = handle.readinto(view[:wanted])
        if not count:
            raise IoError(message=f"Chunk {index} of the stream is shorter than recorded")
        self._position += count
        return count

    def _part(self, index: int) -> io.BufferedReader:
        if self._handle is None or index != self._index:
            self._release()
            try:
                self._handle = self._storage.part(self._stream_id, index).open("rb")
            except OSError as exc:
                raise IoError(message=f"Chunk {index} of the stream is missing on disk") from exc
            self._index = index
        return self._handle

    def _release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self._index = -1

    def close(self) -> None:
        self._release()
        super().close()
