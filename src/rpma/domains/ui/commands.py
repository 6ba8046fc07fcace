"""UI commands (seed: UI Commands). They act on the window of `rpma desktop` and on the
host through the server's shell (rpma.desktop.shell); without a window they answer 501
NOT_IMPLEMENTED saying so (CONTRACT.md section 8). Any signed-in user may call them: the
window is theirs.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.commands import EmptyRequest, command
from rpma.core.context import CommandContext
from rpma.core.errors import NotImplementedOnServer
from rpma.core.permissions import SIGNED_IN
from rpma.core.validation import FieldValidationError, validate_gps_freshness
from rpma.desktop.shell import NO_WINDOW, Shell, shell_of
from rpma.domains.ui.models import ReportedPosition
from rpma.domains.ui.schemas import (
    GpsPosition,
    OpenUrlRequest,
    ReportPositionRequest,
    WindowMaximizeRequest,
    WindowMinimizeRequest,
)

ERRORS = ["AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED"]
WINDOW_ERRORS = [*ERRORS, "VALIDATION_ERROR", "NOT_IMPLEMENTED"]


def _shell(ctx: CommandContext) -> Shell:
    return shell_of(ctx.services)


@command(
    "ui_window_minimize",
    request=WindowMinimizeRequest,
    permission=SIGNED_IN,
    writes=False,
    errors=WINDOW_ERRORS,
)
def ui_window_minimize(ctx: CommandContext, req: WindowMinimizeRequest) -> None:
    """Minimize the desktop window (`minimize: true`, the default) or restore it
    (`false`). 501 NOT_IMPLEMENTED when the server runs without a window."""
    _shell(ctx).minimize(req.minimize)


@command(
    "ui_window_maximize",
    request=WindowMaximizeRequest,
    permission=SIGNED_IN,
    writes=False,
    errors=WINDOW_ERRORS,
)
def ui_window_maximize(ctx: CommandContext, req: WindowMaximizeRequest) -> None:
    """Maximize the desktop window (`maximize: true`, the default) or restore it
    (`false`). 501 NOT_IMPLEMENTED when the server runs without a window."""
    _shell(ctx).maximize(req.maximize)


@command(
    "ui_window_close",
    request=EmptyRequest,
    permission=SIGNED_IN,
    writes=False,
    errors=[*ERRORS, "NOT_IMPLEMENTED"],
)
def ui_window_close(ctx: CommandContext, _req: EmptyRequest) -> None:
    """Close the desktop window, which ends `rpma desktop` (after this answer is sent).
    501 NOT_IMPLEMENTED when the server runs without a window."""
    shell = _shell(ctx)
    if not shell.has_window:
        shell.close()  # raises the explanation
    ctx.after_commit(shell.close)


@command(
    "ui_shell_open_url",
    request=OpenUrlRequest,
    permission=SIGNED_IN,
    writes=False,
    errors=WINDOW_ERRORS,
)
def ui_shell_open_url(ctx: CommandContext, req: OpenUrlRequest) -> None:
    """Open an `http://` or `https://` address in the default browser of the computer
    running the desktop window. Any other scheme (`file:`, `javascript:`, `data:`...),
    a URL without a host, with a user or password, spaces or control characters is
    VALIDATION_ERROR. 501 NOT_IMPLEMENTED when the server runs without a window."""
    _shell(ctx).open_url(req.url)


def _reported(db: Session, user_id: str) -> ReportedPosition | None:
    return db.get(ReportedPosition, user_id)


@command(
    "ui_gps_get_current_position",
    request=EmptyRequest,
    response=GpsPosition,
    permission=SIGNED_IN,
    writes=False,
    errors=[*ERRORS, "NOT_IMPLEMENTED"],
)
def ui_gps_get_current_position(ctx: CommandContext, _req: EmptyRequest) -> GpsPosition:
    """The current position: the host's GPS when it has one (`source: "host"`), else the
    last position the caller's browser reported with `ui_gps_report_position` if it is at
    most 10 minutes old (`source: "browser"`). 501 NOT_IMPLEMENTED otherwise, saying why."""
    host = _shell(ctx).current_position()
    if host is not None:
        return GpsPosition(
            latitude=host.latitude,
            longitude=host.longitude,
            accuracy=host.accuracy,
            timestamp=host.timestamp,
            source="host",
        )
    row = _reported(ctx.db, ctx.user.user_id)
    if row is None:
        raise NotImplementedOnServer(
            message="No position: the server's host has no GPS and your browser has not "
            "reported one (ui_gps_report_position)"
            + ("" if _shell(ctx).has_window else f"; {NO_WINDOW}")
        )
    try:
        validate_gps_freshness(row.timestamp, clock.now_ms())
    except FieldValidationError as exc:
        raise NotImplementedOnServer(
            message=f"No current position: the last one your browser reported is too old ({exc})"
        ) from None
    return GpsPosition(
        latitude=row.latitude,
        longitude=row.longitude,
        accuracy=row.accuracy,
        timestamp=row.timestamp,
        source="browser",
    )


@command(
    "ui_gps_report_position",
    request=ReportPositionRequest,
    response=GpsPosition,
    permission=SIGNED_IN,
    errors=[*ERRORS, "VALIDATION_ERROR"],
)
def ui_gps_report_position(ctx: CommandContext, req: ReportPositionRequest) -> GpsPosition:
    """The browser reports its own position (the Geolocation API's `latitude`,
    `longitude`, `accuracy` in metres, `timestamp` in Unix ms), checked with the seed's
    GPS rules (coordinates in range, accuracy at most 100 m, at most 10 minutes old). It
    replaces the caller's previous one and is what `ui_gps_get_current_position` answers
    when the host has no GPS."""
    now = clock.now_ms()
    row = _reported(ctx.db, ctx.user.user_id)
    if row is None:
        row = ReportedPosition(user_id=ctx.user.user_id)
        ctx.db.add(row)
    row.latitude, row.longitude = req.latitude, req.longitude
    row.accuracy, row.timestamp, row.reported_at = req.accuracy, req.timestamp, now
    ctx.db.flush()
    return GpsPosition(
        latitude=req.latitude,
        longitude=req.longitude,
        accuracy=req.accuracy,
        timestamp=req.timestamp,
        source="browser",
    )
