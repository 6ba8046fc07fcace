"""``rpma desktop``: the server on a free loopback port, shown in a native window.

The window is pywebview's: WebKitGTK or Qt on Linux, WebKit on macOS, Edge WebView2 on
Windows. Closing the window (or ``ui_window_close``) stops the server.
"""

from __future__ import annotations

import logging
import os
import platform
from typing import TYPE_CHECKING, Final

from rpma.config import Settings
from rpma.transport.threaded import ThreadedServer

if TYPE_CHECKING:
    pass

LINUX_NEEDS: Final = (
    "GTK (Debian/Ubuntu: apt install python3-gi gir1.2-webkit2-4.1, in a virtualenv "
    "created with --system-site-packages) or Qt (pip install 'pywebview[qt]')"
)


class DesktopUnavailable(RuntimeError):
    """The native window cannot open here; the message says what is missing."""


def check_gui() -> None:
    """Raise DesktopUnavailable, saying what is missing, when no window can open."""
    try:
        import webview  # noqa: F401
        from webview.guilib import initialize
    except ImportError as exc:
        raise DesktopUnavailable(
            f"pywebview is not installed ({exc}): pip install pywebview"
        ) from exc
    system = platform.system()
    if system == "Linux" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise DesktopUnavailable(
            "No display: DISPLAY and WAYLAND_DISPLAY are not set (run `rpma desktop` in a "
            "graphical session, or use `rpma serve` and a browser)"
        )
    # pywebview logs a traceback per toolkit it fails to load; the message below says it all.
    quiet = logging.getLogger("pywebview")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        initialize()
    except Exception as exc:
        needs = {
            "Linux": LINUX_NEEDS,
            "Darwin": "pyobjc (installed with pywebview: pip install --force-reinstall pywebview)",
            "Windows": "the Microsoft Edge WebView2 runtime and pythonnet",
        }.get(system, "a supported platform (Linux, macOS, Windows)")
        raise DesktopUnavailable(
            f"No GUI toolkit for the window: install {needs}. ({exc})"
        ) from exc
    finally:
        quiet.setLevel(level)


def run_desktop(settings: Settings, *, debug: bool = False) -> str:
    """Open the window and serve until it closes; answers the URL it served on."""
    check_gui()
    import webview

    from rpma.app import build_services, create_app
    from rpma.desktop.landing import mount_landing_page
    from rpma.desktop.shell import WindowShell, install_shell
    from rpma.domains.settings.service import company_name

    services = build_services(settings)
    app = create_app(settings, services=services)
    mount_landing_page(app, services)
    try:
        server = ThreadedServer(app).start(timeout=30)
    except RuntimeError as exc:
        raise DesktopUnavailable("The local server did not start") from exc
    try:
        with services.db.session(write=False) as db:
            title = f"{company_name(db)} · RPMA"
        window = webview.create_window(
            title, server.url + "/", width=1280, height=800, min_size=(800, 600)
        )
        if window is None:  # pragma: no cover - pywebview answers None only when it failed
            raise DesktopUnavailable("pywebview could not create the window")
        install_shell(services, WindowShell(window))
        webview.start(debug=debug)
    finally:
        server.stop()
        services.db.dispose()
    return server.url + "/"
