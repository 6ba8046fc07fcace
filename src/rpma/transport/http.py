"""POST /ipc/{command}: JSON or MessagePack in, the envelope out (CONTRACT.md 1-5)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rpma.core import envelope
from rpma.core.context import ClientInfo
from rpma.core.dispatch import CallMeta, Dispatcher, Outcome
from rpma.core.errors import ValidationFailed

MAX_BODY_BYTES = 64 * 1024 * 1024  # photos travel base64 in JSON; streams for more


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def client_info(request: Request, transport: str = "http") -> ClientInfo:
    return ClientInfo(
        ip_address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        transport=transport,
    )


def wants_msgpack(accept: str | None) -> bool:
    return bool(accept) and any(t in accept for t in envelope.MSGPACK_TYPES)  # type: ignore[operator]


def decode_body(raw: bytes, content_type: str) -> Any:
    if not raw.strip():
        return {}
    try:
        if content_type in envelope.MSGPACK_TYPES:
            return envelope.unpack(raw)
        return json.loads(raw)
    except (ValueError, TypeError) as exc:
        kind = "MessagePack" if content_type in envelope.MSGPACK_TYPES else "JSON"
        raise ValidationFailed(
            message=f"The request body is not valid {kind}",
            fields=[{"field": "(body)", "message": str(exc)[:200]}],
        ) from None


def render(outcome: Outcome, *, msgpack: bool) -> Response:
    headers = {"Cache-Control": "no-store", **outcome.headers}
    if msgpack:
        return Response(
            envelope.pack(outcome.body),
            status_code=outcome.status,
            media_type=envelope.MSGPACK_TYPE,
            headers=headers,
        )
    return Response(
        envelope.dumps_json(outcome.body),
        status_code=outcome.status,
        media_type=envelope.JSON_TYPE,
        headers=headers,
    )


def build_router(dispatcher: Dispatcher) -> APIRouter:
    router = APIRouter()

    @router.post("/ipc/{command}", include_in_schema=False)
    async def invoke(command: str, request: Request) -> Response:
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        answer_msgpack = wants_msgpack(request.headers.get("accept"))
        meta = CallMeta(
            client=client_info(request),
            bearer_token=bearer(request.headers.get("authorization")),
            correlation_id=request.headers.get("x-correlation-id"),
            compress=(request.headers.get("x-ipc-compression") or "").lower() == "gzip",
        )
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            args: Any = None
            error = ValidationFailed(
                message=f"The request body exceeds {MAX_BODY_BYTES // (1024 * 1024)} MB; "
                "use start_stream_transfer for large payloads"
            )
            return render(dispatcher.failure(error, meta, command), msgpack=answer_msgpack)
        try:
            args = decode_body(await request.body(), content_type)
        except ValidationFailed as error:
            return render(dispatcher.failure(error, meta, command), msgpack=answer_msgpack)
        outcome = await dispatcher.dispatch(command, args, meta)
        return render(outcome, msgpack=answer_msgpack)

    return router
