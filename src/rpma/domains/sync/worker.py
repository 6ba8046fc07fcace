"""The background sync service: a thread that syncs every ``sync_interval_seconds``
(the first time right away). Start and stop are idempotent; one per Services."""

from __future__ import annotations

import logging
import threading

from rpma.core.clock import clock
from rpma.core.services import Services
from rpma.domains.sync.service import require_central, sync_now

log = logging.getLogger(__name__)
_workers: dict[int, SyncWorker] = {}


class SyncWorker:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.next_sync_ms: int | None = None

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        require_central(self.services)  # refuse to run with nowhere to sync to
        if self.is_running:
            return
        self._stop.clear()
        self.next_sync_ms = clock.now_ms()
        self._thread = threading.Thread(target=self._run, name="rpma-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self.next_sync_ms = None

    def _run(self) -> None:
        interval = self.services.settings.sync_interval_seconds
        while not self._stop.is_set():
            try:
                if self._set_up():
                    result = sync_now(self.services, due_only=True)
                    if result.errors:
                        log.warning("sync pass: %s", "; ".join(result.errors[:5]))
            except Exception:  # a database hiccup must not end the service
                log.exception("sync pass failed")
            self.next_sync_ms = clock.now_ms() + int(interval * 1000)
            self._stop.wait(interval)

    def _set_up(self) -> bool:
        """A new machine waits for its first account: users pulled first (who have no
        password here) would close first-time setup and lock the owner out."""
        authenticator = self.services.authenticator
        if authenticator is None:
            return True
        with self.services.db.session(write=False) as db:
            return authenticator.has_users(db)


def worker_for(services: Services) -> SyncWorker:
    worker = _workers.get(id(services))
    if worker is None:
        worker = _workers[id(services)] = SyncWorker(services)
    return worker


def running(services: Services) -> SyncWorker | None:
    worker = _workers.get(id(services))
    return worker if worker is not None and worker.is_running else None


def start_if_configured(services: Services) -> None:
    """From the app's lifespan: sync in the background when a central server is set."""
    if services.settings.sync_url and services.settings.sync_autostart:
        worker_for(services).start()


def shutdown(services: Services) -> None:
    worker = _workers.pop(id(services), None)
    if worker is not None:
        worker.stop()
