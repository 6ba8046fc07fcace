"""The ui_* commands and the desktop shell.

There is no display in CI, so the window is a recorded object with pywebview's window
methods (minimize, maximize, restore, destroy) behind the real WindowShell, and the host's
browser is a recorded opener; everything else (HTTP, validation, the database, the
landing page on a real local server, the CLI refusing to start) is real.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from rpma.app import build_services, create_app
from rpma.cli import app as cli_app
from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.desktop.landing import mount_landing_page
from rpma.desktop.runner import DesktopUnavailable, check_gui
from rpma.desktop.shell import HeadlessShell, WindowShell, install_shell
from rpma.domains.settings.service import COMPANY_NAME_KEY, set_setting
from rpma.transport.threaded import ThreadedServer
from tests.conftest import LiveServer, fast_settings, make_user
from tests.helpers import refused

UI_COMMANDS = [
    "ui_window_minimize",
    "ui_window_maximize",
    "ui_window_close",
    "ui_shell_open_url",
    "ui_gps_get_current_position",
]


class RecordedWindow:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def minimize(self) -> None:
        self.calls.append("minimize")

    def maximize(self) -> None:
        self.calls.append("maximize")

    def restore(self) -> None:
        self.calls.append("restore")

    def destroy(self) -> None:
        self.calls.append("destroy")


class RecordedBrowser:
    def __init__(self, available: bool = True) -> None:
        self.opened: list[str] = []
        self.available = available

    def __call__(self, url: str) -> bool:
        if self.available:
            self.opened.append(url)
        return self.available


@pytest.fixture
def window(server: LiveServer) -> Iterator[tuple[RecordedWindow, RecordedBrowser]]:
    recorded, browser = RecordedWindow(), RecordedBrowser()
    install_shell(server.services, WindowShell(recorded, open_browser=browser))
    yield recorded, browser
    install_shell(server.services, HeadlessShell())


# --- without a window --------------------------------------------------------------------
def test_without_a_window_every_ui_command_says_why(admin: IpcClient, server: LiveServer) -> None:
    for command in UI_COMMANDS:
        body = {"url": "https://example.com"} if command == "ui_shell_open_url" else {}
        error = refused(server.services, partial(admin.call, command, body), "NOT_IMPLEMENTED", 501)
        assert "the server runs without a desktop window" in error.message, command


BAD_URLS = [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox",
    "ftp://example.com/file",
    "smb://server/share",
    "/relative/path",
    "example.com",
    "https://",
    "http:///no-host",
    "https://user:secret@example.com/",
    "https://exa mple.com/",
    "https://example.com/\nSet-Cookie",
    "https://example.com:99999/",
    "https://[::1",
    "",
    "https://example.com/" + "x" * 2048,
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_only_http_and_https_urls(
    admin: IpcClient, server: LiveServer, window: tuple[RecordedWindow, RecordedBrowser], url: str
) -> None:
    refused(
        server.services,
        partial(admin.call, "ui_shell_open_url", {"url": url}),
        "VALIDATION_ERROR",
        400,
    )
    assert window[1].opened == []


def test_url_must_be_a_string(admin: IpcClient, server: LiveServer) -> None:
    bodies: list[dict[str, Any]] = [{}, {"url": None}, {"url": ["https://example.com"]}]
    for body in bodies:
        refused(
            server.services,
            partial(admin.call, "ui_shell_open_url", body),
            "VALIDATION_ERROR",
            400,
        )


# --- with a window -----------------------------------------------------------------------
def test_window_commands_act_on_the_window(
    admin: IpcClient, server: LiveServer, window: tuple[RecordedWindow, RecordedBrowser]
) -> None:
    recorded, _ = window
    assert admin.call("ui_window_minimize", {}) is None
    admin.ui.minimize(False)
    admin.ui.maximize()
    admin.ui.maximize(False)
    assert recorded.calls == ["minimize", "restore", "maximize", "restore"]
    admin.ui.close()
    assert recorded.calls[-1] == "destroy"


def test_open_url_opens_the_hosts_browser(
    admin: IpcClient, server: LiveServer, window: tuple[RecordedWindow, RecordedBrowser]
) -> None:
    _, browser = window
    admin.ui.open_url("https://example.com/docs?x=1#top")
    admin.ui.open_url("HTTP://localhost:8080/")
    assert browser.opened == ["https://example.com/docs?x=1#top", "HTTP://localhost:8080/"]
    browser.available = False
    error = refused(
        server.services,
        lambda: admin.ui.open_url("https://example.com"),
        "NOT_IMPLEMENTED",
        501,
    )
    assert "no web browser" in error.message


def test_ui_commands_need_a_session(anon: IpcClient, server: LiveServer) -> None:
    for command in [*UI_COMMANDS, "ui_gps_report_position"]:
        refused(server.services, partial(anon.call, command, {}), "AUTH_SESSION_INVALID", 401)


# --- GPS ---------------------------------------------------------------------------------
def fix(**overrides: Any) -> dict[str, Any]:
    return {
        "latitude": 48.8566,
        "longitude": 2.3522,
        "accuracy": 12.5,
        "timestamp": clock.now_ms() - 30_000,
        **overrides,
    }


def test_browser_position_is_the_current_one_while_fresh(
    admin: IpcClient, server: LiveServer
) -> None:
    clock.freeze()
    position = fix()
    assert admin.ui.report_position(**position) == {**position, "source": "browser"}
    assert admin.ui.current_position() == {**position, "source": "browser"}
    # Another user has reported nothing.
    technician = make_user(admin, server, "technician")
    error = refused(server.services, technician.ui.current_position, "NOT_IMPLEMENTED", 501)
    assert "has not reported one" in error.message
    # Ten minutes after the fix it is too old.
    clock.advance(timedelta(minutes=10))
    error = refused(server.services, admin.ui.current_position, "NOT_IMPLEMENTED", 501)
    assert "too old" in error.message
    # A newer report replaces it.
    newer = fix(latitude=-33.8688, longitude=151.2093, accuracy=5.0)
    admin.ui.report_position(**newer)
    assert admin.ui.current_position() == {**newer, "source": "browser"}


BAD_FIXES: list[dict[str, Any]] = [
    {"latitude": 90.5},
    {"latitude": -91},
    {"longitude": 180.01},
    {"accuracy": 101},
    {"accuracy": -1},
    {"latitude": "48.8"},
    {"timestamp": None},
]


def test_bad_positions_change_nothing(admin: IpcClient, server: LiveServer) -> None:
    clock.freeze()
    admin.ui.report_position(**fix())
    for overrides in BAD_FIXES:
        refused(
            server.services,
            partial(admin.call, "ui_gps_report_position", fix(**overrides)),
            "VALIDATION_ERROR",
            400,
        )
    for stale in (clock.now_ms() - 11 * 60_000, clock.now_ms() + 5 * 60_000):
        refused(
            server.services,
            partial(admin.call, "ui_gps_report_position", fix(timestamp=stale)),
            "VALIDATION_ERROR",
            400,
        )
    refused(
        server.services, lambda: admin.call("ui_gps_report_position", {}), "VALIDATION_ERROR", 400
    )


# --- the desktop command and the landing page -------------------------------------------
def test_landing_page_on_a_local_server(tmp_path: Path) -> None:
    # An app of its own (create_app installs its live hub on the services it is given:
    # the shared test server's must stay as it is).
    services = build_services(fast_settings(tmp_path))
    with services.db.session(write=True) as db:
        set_setting(db, COMPANY_NAME_KEY, "Film & <Shine>", actor_id=None)
        db.commit()
    app = create_app(services.settings, services=services)
    assert mount_landing_page(app, services) is False  # create_app mounted it already
    local = ThreadedServer(app).start()
    try:
        page = httpx.get(local.url + "/")
        docs = httpx.get(local.url + "/docs")
    finally:
        local.stop()
        services.db.dispose()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Film &amp; &lt;Shine&gt;</h1>" in page.text
    assert 'server <span class="status">running</span>' in page.text
    assert '<a href="/docs">/docs</a>' in page.text
    assert docs.status_code == 200


HAS_TOOLKIT = any(importlib.util.find_spec(name) for name in ("gi", "qtpy"))


def test_no_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(DesktopUnavailable, match="No display: DISPLAY and WAYLAND_DISPLAY"):
        check_gui()


@pytest.mark.skipif(HAS_TOOLKIT, reason="a GUI toolkit is installed on this machine")
def test_no_toolkit_says_what_to_install(monkeypatch: pytest.MonkeyPatch, cli_env: object) -> None:
    monkeypatch.setenv("DISPLAY", ":99")
    result = CliRunner().invoke(cli_app, ["desktop"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "Cannot open the desktop window: No GUI toolkit for the window" in output
    assert "python3-gi gir1.2-webkit2-4.1" in output
    assert "pip install 'pywebview[qt]'" in output
