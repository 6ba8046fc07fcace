"""One path for every transport:

decode → find the command → resolve the session → check the role → rate limit →
validate → run the handler in one transaction → commit → release after-commit effects
→ render the envelope.

Transports hand over already-decoded arguments and get back a status, an envelope and
headers; they know nothing of commands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from rpma.core import envelope
from rpma.core.commands import Command, RateClass, Registry, registry
from rpma.core.context import ClientInfo, CommandContext, Principal
from rpma.core.errors import (
    AppError,
    AuthorizationError,
    Conflict,
    DatabaseConnectionError,
    DatabaseError,
    InternalError,
    NotFound,
    RateLimited,
    SessionInvalid,
    ValidationFailed,
)
from rpma.core.permissions import Rule
from rpma.core.services import Services

log = logging.getLogger(__name__)

ENVELOPE_KEYS = ("session_token", "correlation_id")


@dataclass
class CallMeta:
    """What the transport knows about the call besides its arguments."""

    client: ClientInfo
    bearer_token: str | None = None
    correlation_id: str | None = None
    compress: bool = False


@dataclass
class Outcome:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    command: str | None = None


def validation_error(exc: ValidationError) -> ValidationFailed:
    """Pydantic's errors as the seed's code. Validators raise PydanticCustomError with a
    seed code as the type (VALIDATION_EMAIL_INVALID, ...); a single such code wins,
    anything else is VALIDATION_ERROR with every offending field named."""
    fields = []
    codes = set()
    for err in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in err["loc"]) or "(body)"
        fields.append({"field": location, "message": err["msg"], "type": err["type"]})
        codes.add(err["type"] if str(err["type"]).startswith("VALIDATION_") else "")
    code = codes.pop() if len(codes) == 1 and "" not in codes else "VALIDATION_ERROR"
    first = fields[0] if fields else {"field": "(body)", "message": "Invalid input"}
    message = (
        first["message"]
        if len(fields) == 1
        else f"{len(fields)} fields are invalid: " + ", ".join(f["field"] for f in fields)
    )
    if len(fields) == 1 and first["field"] != "(body)" and code == "VALIDATION_ERROR":
        message = f"{first['field']}: {first['message']}"
    return ValidationFailed(code, message, fields=fields)


class Dispatcher:
    def __init__(self, services: Services, commands: Registry = registry) -> None:
        self.services = services
        self.commands = commands
        # Commands run in worker threads. Many threads only fight over the GIL (measured
        # in bench/: 40 threads gave half the throughput of a few); a small pool keeps
        # the database busy while the rest wait in line.
        self._workers = anyio.CapacityLimiter(services.settings.worker_threads)

    async def dispatch(self, name: str, args: Any, meta: CallMeta) -> Outcome:
        started = time.perf_counter()
        outcome = await self._dispatch(name, args, meta)
        self.services.db.metrics.commands.record(time.perf_counter() - started)
        return outcome

    async def _dispatch(self, name: str, args: Any, meta: CallMeta) -> Outcome:
        correlation_id = self._correlation_id(args, meta)
        cmd = self.commands.get(name)
        effects: list[Callable[[], Any]] = []
        try:
            if cmd is None:
                raise NotFound(message=f"Unknown command '{name[:100]}'", command=name[:100])
            if not isinstance(args, dict):
                raise ValidationFailed(
                    message="The request body must be a JSON or MessagePack object",
                    fields=[{"field": "(body)", "message": "expected an object"}],
                )
            data = await anyio.to_thread.run_sync(
                self._execute, cmd, args, meta, correlation_id, effects, limiter=self._workers
            )
        except AppError as error:
            return self._failure(error, correlation_id, name)
        except Exception as exc:  # never leak internals: log, answer a generic 500
            log.exception("command %s failed [%s]", name, correlation_id)
            internal = InternalError()
            internal.__cause__ = exc
            return self._failure(internal, correlation_id, name)
        await self._release(effects, name)
        threshold = self.services.settings.compression_threshold_bytes if meta.compress else None
        body = envelope.success(envelope.to_plain(data), correlation_id, compress_over=threshold)
        return Outcome(200, body, command=name)

    # ------------------------------------------------------------------------------
    def _execute(
        self,
        cmd: Command,
        args: dict[str, Any],
        meta: CallMeta,
        correlation_id: str,
        effects: list[Callable[[], Any]],
    ) -> Any:
        token = self._token(cmd, args, meta)
        payload = {k: v for k, v in args.items() if k not in ENVELOPE_KEYS}
        rule = self._rule(cmd, payload)
        action = payload.get("action") if isinstance(payload.get("action"), str) else None
        writes = cmd.writes_for(action)
        database = self.services.db
        with database.write_turn(writes), database.session(write=writes) as db:
            ctx = CommandContext(
                db=db,
                services=self.services,
                client=meta.client,
                correlation_id=correlation_id,
                token=token,
                effects=effects,
            )
            try:
                ctx.principal = self._authorize(ctx, rule, token, cmd.name)
                self._rate_limit(cmd, ctx)
                try:
                    request = cmd.request.model_validate(payload)
                except ValidationError as exc:
                    raise validation_error(exc) from None
                result = cmd.handler(ctx, request)
                db.commit()
                return result
            except BaseException as exc:
                db.rollback()
                self._undo(ctx)
                if isinstance(exc, AppError):
                    self._write_despite_failure(ctx)
                    raise
                if isinstance(exc, IntegrityError):
                    raise Conflict(
                        message="The change conflicts with existing data; reload and retry"
                    ) from exc
                if isinstance(exc, OperationalError):
                    raise DatabaseConnectionError() from exc
                if isinstance(exc, SQLAlchemyError):
                    raise DatabaseError() from exc
                raise

    @staticmethod
    def _undo(ctx: CommandContext) -> None:
        for undo in reversed(ctx.rollback_hooks):
            try:
                undo()
            except Exception:  # one failed undo must not hide the others or the error
                log.exception("undo after rollback failed")

    def _write_despite_failure(self, ctx: CommandContext) -> None:
        if not ctx.failure_writes:
            return
        with self.services.db.session(write=True) as db:
            for write in ctx.failure_writes:
                write(db)
            db.commit()

    def _rule(self, cmd: Command, payload: dict[str, Any]) -> Rule:
        if isinstance(cmd.permission, str):
            return cmd.rule(None)
        action = payload.get("action")
        if not isinstance(action, str) or action not in cmd.actions:
            raise ValidationFailed(
                message=f"action must be one of: {', '.join(cmd.actions)}",
                fields=[{"field": "action", "message": "unknown action"}],
            )
        return cmd.rule(action)

    @staticmethod
    def _token(cmd: Command, args: dict[str, Any], meta: CallMeta) -> str | None:
        for field_name in (cmd.token_field, "session_token"):
            value = args.get(field_name)
            if isinstance(value, str) and value:
                return value
        return meta.bearer_token

    def _authorize(
        self, ctx: CommandContext, rule: Rule, token: str | None, command_name: str
    ) -> Principal | None:
        authenticator = self.services.authenticator
        if rule.public:
            return None
        if authenticator is None:  # pragma: no cover - wiring error
            raise InternalError(message="No authenticator configured")
        if rule.open_while_no_users and not authenticator.has_users(ctx.db):
            return None
        if not token:
            raise SessionInvalid(message="Authentication required: no session token")
        principal = authenticator.resolve(ctx.db, token)
        if not rule.allows(principal.role):
            self._audit(
                ctx,
                "permission_denied",
                f"{principal.role.value} refused {command_name}",
                user_id=principal.user_id,
                role=principal.role.value,
            )
            raise AuthorizationError(
                message=f"The {principal.role.value} role may not do this", role=principal.role
            )
        return principal

    def _audit(
        self, ctx: CommandContext, event_type: str, description: str, **details: Any
    ) -> None:
        """A security event that survives the refusal (written after the rollback)."""
        recorder = self.services.security_recorder
        if recorder is None:
            return
        user_id = details.pop("user_id", None)
        client = ctx.client
        ctx.even_on_failure(
            lambda db: recorder(
                db, event_type, description, user_id=user_id, client=client, **details
            )
        )

    def _rate_limit(self, cmd: Command, ctx: CommandContext) -> None:
        if cmd.limit is None:
            return
        if cmd.limit is RateClass.AUTH or ctx.principal is None:
            key = f"ip:{ctx.client.ip_address or 'unknown'}"
        else:
            key = f"user:{ctx.principal.user_id}"
        try:
            self.services.rate_limiter.hit(cmd.limit, key)
        except RateLimited:
            self._audit(
                ctx,
                "rate_limit_hit",
                f"{cmd.name} refused: {cmd.limit.value} limit reached",
                user_id=ctx.actor_id,
                command=cmd.name,
                key=key,
            )
            raise

    async def _release(self, effects: list[Callable[[], Any]], name: str) -> None:
        for effect in effects:
            try:
                result = effect()
                if isinstance(result, Awaitable):
                    await result
            except Exception:  # the command already committed; report, do not fail it
                log.exception("after-commit effect of %s failed", name)

    def _failure(self, error: AppError, correlation_id: str, name: str) -> Outcome:
        if error.status >= 500:
            log.error("%s [%s]: %s", name, correlation_id, error.code, exc_info=error)
        body = envelope.failure(error, correlation_id, debug=self.services.settings.debug)
        headers: dict[str, str] = {}
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return Outcome(error.status, body, headers, command=name)

    @staticmethod
    def _correlation_id(args: Any, meta: CallMeta) -> str:
        if isinstance(args, dict):
            value = args.get("correlation_id")
            if isinstance(value, str) and 0 < len(value) <= 128:
                return value
        if meta.correlation_id and len(meta.correlation_id) <= 128:
            return meta.correlation_id
        return envelope.new_correlation_id()

    def failure(self, error: AppError, meta: CallMeta, name: str | None = None) -> Outcome:
        """An error found by a transport before dispatch (an undecodable body)."""
        return self._failure(error, self._correlation_id(None, meta), name or "")
