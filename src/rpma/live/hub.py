"""The live-update hub: who is connected, what they may read, what they missed.

Events come from the in-process EventBus (after commit), or, when ``redis_url`` is set,
from Redis pub/sub so that every server process sees every event (``redis_relay.py``).
Each event gets the next id of the stream, is kept in a bounded replay buffer, and is
queued for every connection that may read it. Connections may live on several event
loops (the main server, and extra listeners started by ``init_websocket_server``); the
hub schedules the fan-out on each loop, in id order, under one lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import redis

from rpma.core.context import Principal
from rpma.core.db import SESSIONS_CHANGED
from rpma.core.errors import AppError, ConfigurationError
from rpma.core.events import Event
from rpma.live.config import CLOSE_AUTH, CLOSE_GOING_AWAY, CLOSE_SLOW, LiveConfig
from rpma.live.connection import Connection
from rpma.live.listeners import ExtraListener
from rpma.live.messages import Addressing, LiveMessage, control, outgoing, stamped
from rpma.live.redis_relay import RedisRelay
from rpma.live.topics import topics_for

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from rpma.core.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resume:
    """Where a reconnecting client left off."""

    last_event_id: int
    stream: str | None = None


@dataclass
class LiveStats:
    events: int = 0
    deliveries: int = 0
    dropped_slow: int = 0
    peak_queue: int = 0  # the deepest any send queue has been


class LiveHub:
    def __init__(self, services: Services, config: LiveConfig | None = None) -> None:
        self.services = services
        self.config = config or LiveConfig.from_env()
        self.stream = uuid.uuid4().hex[:12]
        self.stats = LiveStats()
        self.listeners: dict[int, ExtraListener] = {}
        self.listener_app: Callable[[], ASGIApp] | None = None  # set by transport.live
        self.main_address: tuple[str, int] | None = None
        self.relay: RedisRelay | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._groups: dict[asyncio.AbstractEventLoop, set[Connection]] = {}
        self._beats: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._replay: deque[LiveMessage] = deque(maxlen=self.config.replay_size)
        self._last_id = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._unwatch_sessions: Callable[[], None] | None = None
        self._revalidator: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        services.live = self  # read through hub_for()

    # -- life ----------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        if self.services.settings.redis_url:
            url = self.services.settings.redis_url
            relay = RedisRelay(url, self.config.namespace, self._deliver)
            try:
                self.stream = await anyio.to_thread.run_sync(relay.start)
                self.relay = relay
            except (redis.RedisError, OSError):
                # Serve anyway (health_check reports the Redis outage): live updates
                # then reach only this process's clients, with this process's ids.
                log.exception("Redis unreachable: live updates stay within this process")
        self._unsubscribe = self.services.events.subscribe(self.publish)
        # A session revoked or a role changed in this process: check at once rather than
        # at the next periodic pass (other processes still find out within that period).
        self._unwatch_sessions = self.services.db.on_committed(
            SESSIONS_CHANGED, self.revalidate_soon
        )
        self._wake = asyncio.Event()
        self._revalidator = asyncio.create_task(self._revalidate_forever())

    async def stop(self) -> None:
        if self._unwatch_sessions is not None:
            self._unwatch_sessions()
            self._unwatch_sessions = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._revalidator is not None:
            self._revalidator.cancel()
        for listener in list(self.listeners.values()):
            await anyio.to_thread.run_sync(listener.stop)
        self.listeners.clear()
        for conn in self.connections():
            conn.loop.call_soon_threadsafe(conn.drop, CLOSE_GOING_AWAY, "The server is stopping")
        if self.relay is not None:
            await anyio.to_thread.run_sync(self.relay.stop)
            self.relay = None

    # -- events in -----------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """The EventBus subscriber; any thread. Through Redis when configured (the id
        then comes from Redis and the event comes back to every process, this one too)."""
        published = outgoing(event)
        if self.relay is not None:
            self.relay.publish(published)
        else:
            self._deliver(None, published)

    def _deliver(self, event_id: int | None, published: dict[str, Any]) -> None:
        with self._lock:
            if event_id is None:
                event_id = self._last_id + 1
            if event_id <= self._last_id:  # a duplicate or late frame: never go backwards
                return
            self._last_id = event_id
            message = stamped(event_id, published)
            self._replay.append(message)
            self.stats.events += 1
            # Under the lock, so each loop sees the events in id order.
            for loop, group in self._groups.items():
                with contextlib.suppress(RuntimeError):  # a listener's loop just closed
                    loop.call_soon_threadsafe(self._fan_out, group, message)

    def _fan_out(self, group: set[Connection], message: LiveMessage) -> None:
        delivered = 0
        for conn in list(group):
            if message.id > conn.floor and conn.admits(message) and conn.offer(message.text):
                delivered += 1
                depth = conn.queue.qsize()
                self.stats.peak_queue = max(self.stats.peak_queue, depth)
        self.stats.deliveries += delivered

    # -- connections ---------------------------------------------------------------------
    def register(self, conn: Connection, resume: Resume | None) -> None:
        """Add a connection (on its own loop) and fill its backlog: the welcome, then
        what it missed. Atomic with _deliver: each event arrives exactly once, through
        the backlog (id <= floor) or the queue (id > floor)."""
        with self._lock:
            conn.floor = self._last_id
            buffered = list(self._replay) if resume is not None else []
            self._groups.setdefault(conn.loop, set()).add(conn)
            beat = self._beats.get(conn.loop)
            if beat is None or beat.done():
                self._beats[conn.loop] = conn.loop.create_task(self._beat(conn.loop))
        welcome = {
            "client_id": conn.client_id,
            "user_id": conn.user_id,
            "role": conn.role.value,
            "stream": self.stream,
            "last_event_id": conn.floor,
            "heartbeat_seconds": self.config.heartbeat_seconds,
            "topics": topics_for(conn.role),
        }
        conn.backlog = [control("welcome", welcome)]
        if resume is not None:
            conn.backlog += self._replay_frames(conn, resume, buffered)

    def _replay_frames(
        self, conn: Connection, resume: Resume, buffered: list[LiveMessage]
    ) -> list[str]:
        oldest = buffered[0].id if buffered else conn.floor + 1
        after = resume.last_event_id
        reason = None
        if resume.stream is not None and resume.stream != self.stream:
            reason, after = "stream_changed", 0
        elif after > conn.floor:
            reason, after = "unknown_event_id", 0
        elif after + 1 < oldest:
            reason = "too_old"
        frames = []
        if reason is not None:
            gap = {
                "reason": reason,
                "last_event_id": resume.last_event_id,
                "oldest_event_id": oldest,
                "stream": self.stream,
            }
            frames.append(control("replay_gap", gap))
        missed = [m.text for m in buffered if m.id > after and conn.admits(m)]
        done = {"replayed": len(missed), "last_event_id": conn.floor}
        return [*frames, *missed, control("replay_done", done)]

    async def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        """Heartbeats for every connection on ``loop``; ends with its last connection."""
        while True:
            await asyncio.sleep(self.config.heartbeat_seconds)
            with self._lock:
                group = self._groups.get(loop)
                if group is None:
                    self._beats.pop(loop, None)
                    return
                conns = list(group)
            for conn in conns:
                conn.beat()

    def unregister(self, conn: Connection) -> None:
        with self._lock:
            group = self._groups.get(conn.loop)
            if group is not None:
                group.discard(conn)
                if not group:
                    del self._groups[conn.loop]
                    beat = self._beats.pop(conn.loop, None)
                    if beat is not None:  # the next connection starts a fresh one
                        beat.cancel()
        if conn.closing is not None and conn.closing[0] == CLOSE_SLOW:
            self.stats.dropped_slow += 1

    def connections(self) -> list[Connection]:
        with self._lock:
            return [conn for group in self._groups.values() for conn in group]

    @property
    def connected_clients(self) -> int:
        return len(self.connections())

    @property
    def last_event_id(self) -> int:
        return self._last_id

    def recipients(self, message_type: str, to: Addressing) -> int:
        """How many connections of this process would receive such a message now."""
        probe = LiveMessage(id=0, type=message_type, to=to, text="")
        return sum(1 for conn in self.connections() if conn.closing is None and conn.admits(probe))

    def open_listener(self, host: str, port: int, *, compression: bool) -> ExtraListener:
        """Serve /ws on another port too (worker thread); the same port again is a no-op."""
        with self._lock:
            existing = self.listeners.get(port)
        if existing is not None and existing.running and existing.host == host:
            return existing
        if self.listener_app is None:
            raise ConfigurationError(message="This server has no live transport mounted")
        listener = ExtraListener(self.listener_app(), host, port, compression=compression)
        listener.start()
        with self._lock:
            self.listeners[port] = listener
        return listener

    # -- sessions ------------------------------------------------------------------------
    def resolve(self, token: str) -> Principal:
        """The principal of a token, as the dispatcher checks it (worker thread)."""
        authenticator = self.services.authenticator
        if authenticator is None:  # pragma: no cover - wiring error
            raise ConfigurationError(message="No authenticator configured")
        with self.services.db.session(write=False) as db:
            return authenticator.resolve(db, token)

    def revalidate_soon(self) -> None:
        """Re-check every session now (any thread), e.g. after a revocation."""
        if self.loop is not None and self._wake is not None:
            self.loop.call_soon_threadsafe(self._wake.set)

    async def _revalidate_forever(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.revalidate_seconds)
            self._wake.clear()
            try:
                await self.revalidate()
            except Exception:  # keep checking next time; a database hiccup is not fatal
                log.exception("live session check failed")

    async def revalidate(self) -> None:
        """Drop connections whose session was revoked or expired or whose account was
        deactivated; apply role changes."""
        conns = self.connections()
        if not conns:
            return
        verdicts = await anyio.to_thread.run_sync(self._check_sessions, conns)
        for conn, verdict in zip(conns, verdicts, strict=True):
            if isinstance(verdict, AppError):
                reason = f"{verdict.code}: {verdict.message}"
                conn.loop.call_soon_threadsafe(conn.drop, CLOSE_AUTH, reason)
            else:
                conn.role = verdict.role

    def _check_sessions(self, conns: list[Connection]) -> list[Principal | AppError]:
        authenticator = self.services.authenticator
        assert authenticator is not None
        # One check per session token, however many tabs share it.
        by_token: dict[str, Principal | AppError] = {}
        with self.services.db.session(write=False) as db:
            for token in {conn.token for conn in conns}:
                try:
                    by_token[token] = authenticator.resolve(db, token)
                except AppError as error:
                    by_token[token] = error
        return [by_token[conn.token] for conn in conns]


def hub_for(services: Services) -> LiveHub | None:
    """The hub serving ``services``, if a server runs (not under ``rpma invoke``)."""
    hub = services.live
    return hub if isinstance(hub, LiveHub) else None
