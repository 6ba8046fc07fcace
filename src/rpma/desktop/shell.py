"""What the ui_* commands act on: the desktop window and the host it runs on.

A server started by ``rpma serve`` has no window: its shell is ``HeadlessShell``, whose
every window action answers 501 NOT_IMPLEMENTED saying why. ``rpma desktop`` installs a
``WindowShell`` around the pywebview window it opened. The window is anything with
pywebview's ``minimize/maximize/restore/destroy`` methods, so the window calls can be
tested without a display (tests use a window that records the calls).
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

from rpma.core.errors import NotImplementedOnServer
from rpma.core.services import Services

NO_WINDOW: Final = (
    "the server runs without a desktop window (start it with `rpma desktop` to have one)"
)


@dataclass(frozen=True)
class HostPosition:
    latitude: float
    longitude: float
    accuracy: float
    timestamp: int


class WindowLike(Protocol):
    def minimize(self) -> Any: ...

    def maximize(self) -> Any: ...

    def restore(self) -> Any: ...

    def destroy(self) -> Any: ...


@runtime_checkable
class Shell(Protocol):
    @property
    def has_window(self) -> bool: ...

    def minimize(self, minimize: bool) -> None: ...

    def maximize(self, maximize: bool) -> None: ...

    def close(self) -> None: ...

    def open_url(self, url: str) -> None: ...

    def current_position(self) -> HostPosition | None:
        """The host's own GPS fix, when it has a GPS the server can read."""
        ...


class HeadlessShell:
    """No window, no browser to open on the server's host."""

    has_window = False

    def _refuse(self, action: str) -> NotImplementedOnServer:
        return NotImplementedOnServer(message=f"Cannot {action}: {NO_WINDOW}")

    def minimize(self, minimize: bool) -> None:
        raise self._refuse("minimize the window" if minimize else "restore the window")

    def maximize(self, maximize: bool) -> None:
        raise self._refuse("maximize the window" if maximize else "restore the window")

    def close(self) -> None:
        raise self._refuse("close the window")

    def open_url(self, url: str) -> None:
        raise self._refuse("open a browser on the server's host")

    def current_position(self) -> HostPosition | None:
        return None


class WindowShell:
    """The window opened by ``rpma desktop``, and the host's default browser.

    pywebview's window methods are safe to call from the command's worker thread (they
    hand the work to the GUI thread). pywebview offers no GPS, so the host has none.
    """

    has_window = True

    def __init__(
        self,
        window: WindowLike,
        open_browser: Callable[[str], bool] = lambda url: webbrowser.open(url, new=2),
    ) -> None:
        self.window = window
        self._open_browser = open_browser

    def minimize(self, minimize: bool) -> None:
        self.window.minimize() if minimize else self.window.restore()

    def maximize(self, maximize: bool) -> None:
        self.window.maximize() if maximize else self.window.restore()

    def close(self) -> None:
        self.window.destroy()

    def open_url(self, url: str) -> None:
        if not self._open_browser(url):
            raise NotImplementedOnServer(
                message="Cannot open the address: no web browser is available on this computer"
            )

    def current_position(self) -> HostPosition | None:
        return None


def install_shell(services: Services, shell: Shell) -> None:
    """Make ``shell`` the one the ui_* commands of this server act on."""
    services.shell = shell


def shell_of(services: Services) -> Shell:
    shell = services.shell
    return shell if isinstance(shell, Shell) else HeadlessShell()
