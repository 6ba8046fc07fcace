"""Where photo bytes live: a small key/value interface, so that an object store can
replace the local disk later without the service noticing.

Keys are made by the server (``<intervention_id>/<photo_id>.<ext>``), never from a
client's file name, and a key that could step out of the storage root is refused.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Final, Protocol

from rpma.config import Settings

# One or more path segments of safe characters; no segment may start with a dot, so
# neither ".." nor hidden files can be named.
_KEY_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)*")
THUMBNAIL_SUFFIX: Final = ".thumb.jpg"


def photo_key(intervention_id: str, photo_id: str, extension: str) -> str:
    return f"{intervention_id}/{photo_id}.{extension}"


def thumbnail_key(intervention_id: str, photo_id: str) -> str:
    return f"{intervention_id}/{photo_id}{THUMBNAIL_SUFFIX}"


class PhotoStorage(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing it), all or nothing."""

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; ``FileNotFoundError`` when there are none."""

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    def exists(self, key: str) -> bool: ...


class LocalPhotoStorage:
    """Files under ``root`` (``<data_dir>/photos``). A write goes to a temporary file in
    the same folder first and is renamed into place, so a reader never sees half a
    photo and a crash leaves no file under a real key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if len(key) > 255 or _KEY_RE.fullmatch(key) is None:
            raise ValueError(f"invalid storage key {key!r}")
        return self.root.joinpath(*key.split("/"))

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        for attempt in range(2):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(temporary, "xb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                break
            except FileNotFoundError:
                # A delete emptied and removed the folder between mkdir and open.
                if attempt:
                    raise
        try:
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        target = self.path(key)
        target.unlink(missing_ok=True)
        # Leave no empty intervention folder behind; another photo may still be there
        # (or arriving), in which case the folder simply stays.
        with contextlib.suppress(OSError):
            target.parent.rmdir()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


def photo_root(settings: Settings) -> Path:
    return settings.data_dir / "photos"


def storage_for(settings: Settings) -> PhotoStorage:
    return LocalPhotoStorage(photo_root(settings))
