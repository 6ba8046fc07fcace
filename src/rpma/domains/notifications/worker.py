"""The background outbox worker: a thread that runs ``deliver_due`` every
``notification_poll_seconds``, sooner when woken (a new message was committed here).

Every server process runs one; the claims in outbox.py keep them from sending a row
twice. ``pause``/``resume`` exist for tests that drive ``deliver_due`` themselves.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid

from rpma.core.events import Event
from rpma.core.services import Services
from rpma.domains.notifications.outbox import deliver_due

log = logging.getLogger(__name__)
# Automatic notifications come with a task change: look at the outbox right away.
WAKING_EVENTS = frozenset({"task_updated"})

# One worker per Services (the app's, or each test server's). Keyed by id(): Services is
# an unhashable dataclass.
_workers: dict[int, OutboxWorker] = {}


class OutboxWorker:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pass_lock = threading.Lock()
        self._paused = False
        self._thread: threading.Thread | None = None
        self._unsubscribe = services.events.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.type in WAKING_EVENTS:
            self.wake()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rpma-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._unsubscribe()
        _workers.pop(id(self.services), None)

    def wake(self) -> None:
        self._wake.set()

    def pause(self) -> None:
        """Stop delivering, and wait for a pass under way to finish."""
        self._paused = True
        with self._pass_lock:
            pass

    def resume(self) -> None:
        self._paused = False
        self.wake()

    def run_once(self) -> None:
        with self._pass_lock:
            if self._paused:
                return
            deliver_due(self.services, owner=self.owner)

    def _run(self) -> None:
        interval = self.services.settings.notification_poll_seconds
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database hiccup must not end the worker
                log.exception("outbox pass failed")
            self._wake.wait(interval)
            self._wake.clear()


def worker_for(services: Services) -> OutboxWorker:
    worker = _workers.get(id(services))
    if worker is None:
        worker = _workers[id(services)] = OutboxWorker(services)
    return worker


def start(services: Services) -> OutboxWorker | None:
    """Called from the app's lifespan."""
    if not services.settings.notification_worker_enabled:
        return None
    worker = worker_for(services)
    worker.start()
    return worker


def wake(services: Services) -> None:
    """After a commit that queued messages: deliver them now rather than at the next poll."""
    worker = _workers.get(id(services))
    if worker is not None:
        worker.wake()
