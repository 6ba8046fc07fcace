"""Streams through the real HTTP transport (and once over MessagePack with raw bytes):
chunks in any order read back identical, the SHA-256 checked, every refusal precise
with nothing changed and no file left behind, ownership, roles, the cleanup of
abandoned streams, and the service API other domains consume."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import shutil
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rpma.client import IpcClient, IpcError
from rpma.client.api.streams import chunks
from rpma.core.clock import clock
from rpma.core.context import Principal
from rpma.core.errors import NotFound, ValidationFailed
from rpma.core.permissions import Role
from rpma.domains.streams.models import Stream, StreamChunk
from rpma.domains.streams.service import StreamService
from tests.conftest import LiveServer, make_user
from tests.helpers import count, refused

KIB = 1024
CHUNK = 64 * KIB  # the smallest chunk size keeps payloads small
PAYLOAD = os.urandom(CHUNK * 3 + CHUNK // 2)  # 3.5 chunks: four, the last a half
SHA = hashlib.sha256(PAYLOAD).hexdigest()
PARTS = list(chunks(PAYLOAD, CHUNK))


# Helpers --------------------------------------------------------------------------------------
@pytest.fixture
def store(server: LiveServer) -> Iterator[Path]:
    """The streams folder, emptied before the test (the server outlives one test)."""
    root = server.services.settings.data_dir / "streams"
    shutil.rmtree(root, ignore_errors=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def files(root: Path) -> list[str]:
    """Every file under the streams folder, temporary ones included."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def start(
    client: IpcClient, stream_id: str = "s1", payload: bytes = PAYLOAD, **extra: Any
) -> dict[str, Any]:
    extra.setdefault("chunk_size", CHUNK)
    answer = client.streams.start(stream_id, len(payload), "image/jpeg", **extra)
    return dict(answer)


def send(client: IpcClient, index: int, stream_id: str = "s1", data: Any = None) -> Any:
    return client.streams.send_chunk(stream_id, index, PARTS[index] if data is None else data)


def row(server: LiveServer, stream_id: str = "s1") -> Stream | None:
    with server.services.db.session(write=False) as db:
        return db.get(Stream, stream_id)


def me(client: IpcClient) -> str:
    return str(client.call("auth_validate_session", {})["user"]["id"])


def principal(client: IpcClient, role: Role = Role.ADMIN) -> Principal:
    return Principal(me(client), role, "session", "x@shop.example", 0)


# The happy path -------------------------------------------------------------------------------
def test_chunks_in_random_order_read_back_identical(
    server: LiveServer, admin: IpcClient, store: Path
) -> None:
    meta = start(admin, checksum=SHA, metadata={"file_name": "hood.jpg"})
    assert meta == {
        "stream_id": "s1",
        "total_size": len(PAYLOAD),
        "total_chunks": 4,
        "chunk_size": CHUNK,
        "content_type": "image/jpeg",
        "checksum": SHA,
    }
    order = [3, 1, 0, 2]
    random.Random(5).shuffle(order)
    receipts = [send(admin, index) for index in order]
    for received, receipt in enumerate(receipts[:-1], start=1):
        assert receipt == {
            "stream_id": "s1",
            "received_chunks": received,
            "total_chunks": 4,
            "complete": False,
        }
    assert receipts[-1] == {
        "stream_id": "s1",
        "received_chunks": 4,
        "total_chunks": 4,
        "complete": True,
        "checksum": SHA,
    }
    answer = admin.streams.get_data("s1")
    assert base64.b64decode(answer.pop("data")) == PAYLOAD
    assert answer == {"checksum": SHA, "total_size": len(PAYLOAD), "content_type": "image/jpeg"}
    assert files(store) == [f"s1/{i}.part" for i in range(4)]
    stored = row(server)
    assert stored is not None
    assert (stored.status, stored.received_chunks, stored.received_bytes) == (
        "complete",
        4,
        len(PAYLOAD),
    )
    assert stored.stream_metadata == {"file_name": "hood.jpg"}
    assert count(server.services, "stream_chunks") == 4


def test_checksum_is_computed_when_none_was_given(admin: IpcClient, store: Path) -> None:
    meta = start(admin)
    assert meta["checksum"] == ""
    last = None
    for index in range(4):
        last = send(admin, index)
    assert last is not None
    assert last["complete"] is True
    assert last["checksum"] == SHA
    assert admin.streams.get_data("s1")["checksum"] == SHA


def test_defaults_one_chunk_of_one_mib_and_blank_content_type(admin: IpcClient) -> None:
    meta = admin.streams.start("small", 10, "")
    assert meta["chunk_size"] == 1024 * KIB
    assert meta["total_chunks"] == 1
    assert meta["content_type"] == "application/octet-stream"
    receipt = admin.streams.send_chunk("small", 0, b"0123456789", is_last=True)
    assert receipt["checksum"] == hashlib.sha256(b"0123456789").hexdigest()


def test_messagepack_carries_raw_bytes(server: LiveServer, admin: IpcClient, store: Path) -> None:
    with server.client(encoding="msgpack", token=admin.token) as packed:
        start(packed, checksum=SHA)
        for index in (2, 0, 3, 1):
            # Raw bytes in the MessagePack map, not base64 text.
            receipt = packed.call(
                "send_stream_chunk",
                {"stream_id": "s1", "chunk_index": index, "chunk_data": PARTS[index]},
            )
        assert receipt["complete"] is True
        assert base64.b64decode(packed.streams.get_data("s1")["data"]) == PAYLOAD
        # The SDK sends bytes raw on a MessagePack client too.
        packed.streams.start("s2", 5, "text/plain")
        assert packed.streams.send_chunk("s2", 0, b"hello")["complete"] is True
    assert base64.b64decode(admin.streams.get_data("s2")["data"]) == b"hello"


# The checksum ---------------------------------------------------------------------------------
def test_wrong_checksum_fails_the_stream_for_good(
    server: LiveServer, admin: IpcClient, store: Path
) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    start(admin, checksum=wrong)
    for index in range(3):
        send(admin, index)
    with pytest.raises(IpcError) as caught:
        send(admin, 3)
    assert (caught.value.code, caught.value.status) == ("VALIDATION_ERROR", 400)
    assert "checksum mismatch" in caught.value.message
    assert caught.value.details["expected_checksum"] == wrong
    assert caught.value.details["actual_checksum"] == SHA
    stored = row(server)
    assert stored is not None
    assert (stored.status, stored.received_chunks) == ("failed", 3)
    assert files(store) == []  # a failed stream's bytes are removed at once
    error = refused(server.services, lambda: admin.streams.get_data("s1"), "VALIDATION_ERROR", 400)
    assert "failed its checksum check" in error.message
    error = refused(server.services, partial(send, admin, 3), "VALIDATION_ERROR", 400)
    assert "failed" in error.message
    assert files(store) == []


# Refused chunks: precise errors, nothing changed, no file left --------------------------------
def test_a_chunk_sent_twice_is_refused(server: LiveServer, admin: IpcClient, store: Path) -> None:
    start(admin, checksum=SHA)
    send(admin, 1)
    before = (store / "s1" / "1.part").read_bytes()
    error = refused(
        server.services, partial(send, admin, 1, data=b"x" * CHUNK), "VALIDATION_ERROR", 400
    )
    assert error.message == "chunk 1 already received; each index is sent once"
    assert files(store) == ["s1/1.part"]
    assert (store / "s1" / "1.part").read_bytes() == before


def test_missing_chunks_are_listed(server: LiveServer, admin: IpcClient, store: Path) -> None:
    start(admin)
    send(admin, 0)
    send(admin, 2)
    error = refused(server.services, lambda: admin.streams.get_data("s1"), "VALIDATION_ERROR", 400)
    assert error.message == (
        "stream 's1' is incomplete: 2 of 4 chunks received; missing chunks: 1, 3"
    )
    assert error.details["missing_chunks"] == [1, 3]
    assert error.details["missing_count"] == 2


def test_only_the_first_twenty_missing_chunks_are_listed(
    server: LiveServer, admin: IpcClient, store: Path
) -> None:
    admin.streams.start("big", CHUNK * 30, "application/zip", chunk_size=CHUNK)
    admin.streams.send_chunk("big", 5, b"z" * CHUNK)
    error = refused(server.services, lambda: admin.streams.get_data("big"), "VALIDATION_ERROR")
    listed = [0, 1, 2, 3, 4, *range(6, 21)]
    assert error.details["missing_chunks"] == listed
    assert error.details["missing_count"] == 29
    assert error.message.endswith(", ".join(map(str, listed)) + " and 9 more")


@pytest.mark.parametrize(
    ("index", "size", "message"),
    [
        (0, CHUNK - 1, f"chunk 0 holds {CHUNK - 1} bytes; every chunk but the last (3) must"),
        (1, CHUNK + 1, f"chunk 1 holds {CHUNK + 1} bytes; every chunk but the last (3) must"),
        (3, CHUNK, f"chunk 3 holds {CHUNK} bytes; the last chunk must hold {CHUNK // 2}"),
        (3, 0, f"chunk 3 holds 0 bytes; the last chunk must hold {CHUNK // 2}"),
    ],
)
def test_a_chunk_of_the_wrong_size_is_refused(
    server: LiveServer, admin: IpcClient, store: Path, *, index: int, size: int, message: str
) -> None:
    start(admin)
    error = refused(
        server.services, partial(send, admin, index, data=b"a" * size), "VALIDATION_ERROR", 400
    )
    assert error.message.startswith(message)
    assert files(store) == []


def test_an_index_out_of_range_is_refused(
    server: LiveServer, admin: IpcClient, store: Path
) -> None:
    start(admin)
    error = refused(server.services, partial(send, admin, 4, data=b"a"), "VALIDATION_ERROR", 400)
    assert error.message == "chunk_index 4 is out of range: the stream has 4 chunk(s), 0..3"
    error = refused(server.services, partial(send, admin, -1, data=b"a"), "VALIDATION_ERROR")
    assert error.message.startswith("chunk_index:")
    assert files(store) == []


def test_is_last_must_match_the_last_index(
    server: LiveServer, admin: IpcClient, store: Path
) -> None:
    start(admin)
    error = refused(
        server.services,
        lambda: admin.streams.send_chunk("s1", 1, PARTS[1], is_last=True),
        "VALIDATION_ERROR",
    )
    assert error.message == "is_last is true but chunk 1 is not the last one (the last is 3)"
    refused(
        server.services,
        lambda: admin.streams.send_chunk("s1", 3, PARTS[3], is_last=False),
        "VALIDATION_ERROR",
    )
    assert admin.streams.send_chunk("s1", 3, PARTS[3], is_last=True)["received_chunks"] == 1


@pytest.mark.parametrize(
    "data",
    ["not base64!", "QUJD\n", "QUJ", "QQ==QUJD", "ÀÉ", "QU JD", 12, None, [1, 2]],
)
def test_chunk_data_that_is_not_base64_is_refused(
    server: LiveServer, admin: IpcClient, store: Path, data: Any
) -> None:
    admin.streams.start("b64", 3, "text/plain")
    args = {"stream_id": "b64", "chunk_index": 0, "chunk_data": data}
    error = refused(
        server.services, lambda: admin.call("send_stream_chunk", args), "VALIDATION_ERROR", 400
    )
    assert error.message.startswith("chunk_data:")
    assert files(store) == []
    assert admin.call("send_stream_chunk", {**args, "chunk_data": "QUJD"})["complete"] is True


def test_a_complete_stream_takes_no_more_chunks(
    server: LiveServer, admin: IpcClient, store: Path
) -> None:
    admin.streams.start("done", 3, "text/plain")
    admin.streams.send_chunk("done", 0, b"abc")
    error = refused(
        server.services,
        lambda: admin.streams.send_chunk("done", 0, b"abc"),
        "VALIDATION_ERROR",
    )
    assert error.message == "stream 'done' is already complete; it takes no more chunks"
    assert files(store) == ["done/0.part"]


def test_an_unknown_stream_is_not_found(server: LiveServer, admin: IpcClient, store: Path) -> None:
    refused(server.services, lambda: send(admin, 0, "nope"), "NOT_FOUND", 404)
    refused(server.services, lambda: admin.streams.get_data("nope"), "NOT_FOUND", 404)
    assert files(store) == []


# Starting -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"stream_id": ""}, "stream_id"),
        ({"stream_id": "../etc"}, "stream_id"),
        ({"stream_id": "a/b"}, "stream_id"),
        ({"stream_id": "x" * 65}, "stream_id"),
        ({"total_size": 0}, "total_size"),
        ({"total_size": 512 * 1024 * KIB + 1}, "total_size"),
        ({"total_size": "10"}, "total_size"),
        ({"chunk_size": CHUNK - 1}, "chunk_size"),
        ({"chunk_size": 8 * 1024 * KIB + 1}, "chunk_size"),
        ({"checksum": SHA.upper()}, "checksum"),
        ({"checksum": SHA[:-1]}, "checksum"),
        ({"content_type": "jpeg"}, "content_type"),
        ({"content_type": "image/" + "x" * 100}, "content_type"),
        ({"metadata": {"notes": "n" * 17 * KIB}}, "metadata"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
    ],
)
def test_a_bad_start_is_refused(
    server: LiveServer, admin: IpcClient, store: Path, fields: dict[str, Any], where: str
) -> None:
    args = {"stream_id": "s1", "total_size": 100, "content_type": "image/png", **fields}
    error = refused(
        server.services,
        lambda: admin.call("start_stream_transfer", args),
        "VALIDATION_ERROR",
        400,
    )
    assert error.message.startswith(f"{where}:"), error.message
    assert files(store) == []


def test_a_stream_id_in_use_is_refused(
    server: LiveServer, admin: IpcClient, role_clients: dict[str, IpcClient], store: Path
) -> None:
    start(admin)
    for client in (admin, role_clients["technician"]):
        error = refused(server.services, partial(start, client), "VALIDATION_ERROR", 400)
        assert error.message == "stream_id 's1' is already in use; choose another"


def test_the_size_cap_is_a_setting(
    server: LiveServer, admin: IpcClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.services.settings, "stream_max_bytes", 1000)
    error = refused(
        server.services,
        lambda: admin.streams.start("s1", 1001, "text/plain"),
        "VALIDATION_ERROR",
    )
    assert error.message.startswith("total_size: 1001 bytes exceeds the limit of 1000 bytes")
    assert admin.streams.start("s1", 1000, "text/plain")["total_chunks"] == 1


# Who ------------------------------------------------------------------------------------------
def test_someone_elses_stream_is_not_found(
    server: LiveServer, admin: IpcClient, role_clients: dict[str, IpcClient], store: Path
) -> None:
    owner = role_clients["technician"]
    other = make_user(admin, server, "technician")
    start(owner)
    send(owner, 0)
    for client in (other, admin, role_clients["supervisor"]):
        refused(server.services, partial(send, client, 1), "NOT_FOUND", 404)
        refused(server.services, partial(client.streams.get_data, "s1"), "NOT_FOUND", 404)
    assert files(store) == ["s1/0.part"]
    for index in (1, 2, 3):
        send(owner, index)
    assert base64.b64decode(owner.streams.get_data("s1")["data"]) == PAYLOAD
    refused(server.services, lambda: other.streams.get_data("s1"), "NOT_FOUND", 404)
    other.close()


def test_every_writer_role_may_stream_and_a_viewer_may_not(
    server: LiveServer, role_clients: dict[str, IpcClient], store: Path
) -> None:
    for role in ("admin", "supervisor", "technician"):
        client = role_clients[role]
        client.streams.start(role, 2, "text/plain")
        assert client.streams.send_chunk(role, 0, b"ok")["complete"] is True
    viewer = role_clients["viewer"]
    for call in (
        lambda: start(viewer, "v1"),
        lambda: send(viewer, 0, "admin"),
        lambda: viewer.streams.get_data("admin"),
    ):
        refused(server.services, call, "AUTH_FORBIDDEN", 403)
    assert files(store) == ["admin/0.part", "supervisor/0.part", "technician/0.part"]


def test_streaming_needs_a_session(server: LiveServer, admin: IpcClient, anon: IpcClient) -> None:
    refused(server.services, lambda: start(anon), "AUTH_SESSION_INVALID", 401)


# Abandoned streams ----------------------------------------------------------------------------
def test_abandoned_streams_are_removed_after_an_hour(
    server: LiveServer, admin: IpcClient, store: Path
) -> None:
    start(admin, "old")
    send(admin, 0, "old")
    admin.streams.start("kept", 3, "text/plain")
    admin.streams.send_chunk("kept", 0, b"abc")  # complete: kept for a day
    clock.advance(timedelta(minutes=30))
    start(admin, "young")
    send(admin, 1, "young")
    clock.advance(timedelta(minutes=31))
    assert files(store) == ["kept/0.part", "old/0.part", "young/1.part"]
    start(admin, "new")  # starting a stream sweeps the abandoned ones
    assert row(server, "old") is None
    assert files(store) == ["kept/0.part", "young/1.part"]
    assert all(row(server, s) is not None for s in ("kept", "young", "new"))
    with server.services.db.session(write=False) as db:
        assert db.scalar(select(StreamChunk).where(StreamChunk.stream_id == "old")) is None
    # The abandoned id is free again. An hour later only the complete stream is left.
    start(admin, "old")
    clock.advance(timedelta(minutes=61))
    with server.services.db.session(write=True) as db:
        removed = StreamService(db, server.services, None).cleanup_abandoned()
        db.commit()
    assert removed == 3  # young, new and the second old
    assert files(store) == ["kept/0.part"]
    clock.advance(timedelta(hours=24))
    with server.services.db.session(write=True) as db:
        assert StreamService(db, server.services, None).cleanup_abandoned(clock.now()) == 1
        db.commit()
    assert files(store) == []
    assert count(server.services, "streams") == 0
    assert count(server.services, "stream_chunks") == 0


def test_a_refused_start_does_not_sweep(server: LiveServer, admin: IpcClient, store: Path) -> None:
    start(admin, "old")
    send(admin, 0, "old")
    admin.streams.start("taken", 3, "text/plain")
    admin.streams.send_chunk("taken", 0, b"abc")  # complete: not swept for a day
    clock.advance(timedelta(minutes=61))
    refused(server.services, lambda: start(admin, "taken"), "VALIDATION_ERROR")
    # The sweep rolled back with the refusal, and its files stayed.
    assert files(store) == ["old/0.part", "taken/0.part"]


# The service API for other domains ------------------------------------------------------------
def complete_stream(client: IpcClient, stream_id: str = "s1") -> None:
    start(client, stream_id, checksum=SHA, metadata={"file_name": "door.jpg"})
    for index in range(4):
        send(client, index, stream_id)


def test_read_open_and_discard_a_completed_stream(
    server: LiveServer, admin: IpcClient, store: Path
) -> None:
    complete_stream(admin)
    actor = principal(admin)
    with server.services.db.session(write=True) as db:
        service = StreamService(db, server.services, actor)
        payload, stream = service.read_completed("s1")
        assert payload == PAYLOAD
        assert (stream.content_type, stream.checksum) == ("image/jpeg", SHA)
        assert stream.stream_metadata == {"file_name": "door.jpg"}
        with service.open_completed("s1") as handle:
            assert isinstance(handle, io.BufferedIOBase)
            assert b"".join(handle) == PAYLOAD  # iterating yields blocks
            assert handle.seek(CHUNK - 3) == CHUNK - 3
            assert handle.read(7) == PAYLOAD[CHUNK - 3 : CHUNK + 4]  # across two parts
            assert handle.seek(-5, io.SEEK_END) == len(PAYLOAD) - 5
            assert handle.read() == PAYLOAD[-5:]
            assert handle.read() == b""
        db.commit()
    deferred: list[Any] = []
    with server.services.db.session(write=True) as db:
        StreamService(db, server.services, actor, after_commit=deferred.append).discard("s1")
        assert files(store) == [f"s1/{i}.part" for i in range(4)]  # until the commit
        db.commit()
    for effect in deferred:
        effect()
    assert files(store) == []
    assert count(server.services, "streams") == 0
    assert count(server.services, "stream_chunks") == 0


def test_the_service_checks_owner_and_completeness(
    server: LiveServer, admin: IpcClient, store: Path
) -> None:
    technician = make_user(admin, server, "technician")
    complete_stream(technician, "theirs")
    start(admin, "partial")
    send(admin, 0, "partial")
    with server.services.db.session(write=True) as db:
        service = StreamService(db, server.services, principal(admin))
        for call in (service.read_completed, service.open_completed, service.discard):
            with pytest.raises(NotFound):
                call("theirs")
        with pytest.raises(ValidationFailed, match="missing chunks: 1, 2, 3"):
            service.read_completed("partial")
        with pytest.raises(ValidationFailed, match="incomplete"):
            service.open_completed("partial")
    technician.close()


def test_a_failure_after_writing_removes_the_chunk(
    server: LiveServer, admin: IpcClient, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin.streams.start("s1", 3, "text/plain")

    def broken(*_: Any) -> None:
        raise RuntimeError("disk vanished")

    monkeypatch.setattr(StreamService, "_complete", broken)
    refused(server.services, lambda: admin.streams.send_chunk("s1", 0, b"abc"), "INTERNAL_ERROR")
    assert files(store) == []
