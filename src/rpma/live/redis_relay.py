"""Events between server processes through Redis pub/sub.

One Lua script takes the next id (INCR) and publishes the event with it, atomically:
Redis runs scripts one at a time, so the channel carries the events in id order and
every process (this one included) receives the same stream with the same ids. A
publisher thread keeps the event loop free of network calls; a listener thread hands
what arrives to the hub. Pub/sub is at-most-once: an event published while a process
is disconnected from Redis never reaches that process (its clients see a jump in ids).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

log = logging.getLogger(__name__)

PUBLISH_WITH_ID = """
local id = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[1])
return id
"""

Deliver = Callable[[int, dict[str, Any]], None]


class RedisRelay:
    def __init__(self, url: str, namespace: str, deliver: Deliver) -> None:
        self.url = url
        self.id_key = f"{namespace}:last_id"
        self.stream_key = f"{namespace}:stream"
        self.channel = f"{namespace}:events"
        self.deliver = deliver
        self._outbox: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client: redis.Redis | None = None
        self._pubsub: Any = None

    def start(self) -> str:
        """Subscribe and start the threads; answers the stream id every process shares."""
        client = redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)
        client.set(self.stream_key, uuid.uuid4().hex[:12], nx=True)
        stream = client.get(self.stream_key)
        pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        pubsub.subscribe(self.channel)
        self._client, self._pubsub = client, pubsub
        for target, name in ((self._publish_loop, "out"), (self._listen_loop, "in")):
            thread = threading.Thread(target=target, name=f"rpma-live-redis-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return stream.decode() if isinstance(stream, bytes) else str(stream)

    def publish(self, published: dict[str, Any]) -> None:
        self._outbox.put(json.dumps(published, separators=(",", ":"), default=str))

    def stop(self) -> None:
        self._stopping.set()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        if self._pubsub is not None:
            self._pubsub.close()
        if self._client is not None:
            self._client.close()

    def _publish_loop(self) -> None:
        assert self._client is not None
        script = self._client.register_script(PUBLISH_WITH_ID)
        while True:
            payload = self._outbox.get()
            if payload is None:
                return
            try:
                script(keys=[self.id_key, self.channel], args=[payload])
            except redis.RedisError:
                log.exception("could not publish a live event to Redis; it is lost")

    def _listen_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                message = self._pubsub.get_message(timeout=0.5)
            except redis.RedisError:
                log.exception("Redis live-event subscription failed; retrying")
                time.sleep(1)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                raw = message["data"].decode()
                head, _, body = raw.partition(" ")
                self.deliver(int(head), json.loads(body))
            except Exception:  # one bad frame must not stop the stream
                log.exception("undecodable live event from Redis")
