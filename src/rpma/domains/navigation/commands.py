"""Navigation commands (seed: Navigation Commands), plus the back and forward moves the
seed's `can_go_back` / `can_go_forward` imply. Each user has their own history; any
signed-in user (a viewer too) keeps theirs: it is the state of their UI, not shop data.
"""

from __future__ import annotations

from rpma.core.commands import EmptyRequest, command
from rpma.core.context import CommandContext
from rpma.core.permissions import SIGNED_IN
from rpma.domains.navigation.schemas import (
    NavigationEntryOut,
    NavigationHistoryRequest,
    NavigationState,
    NavigationUpdateRequest,
)
from rpma.domains.navigation.service import Navigation

ERRORS = ["AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED"]


@command(
    "navigation_update",
    request=NavigationUpdateRequest,
    permission=SIGNED_IN,
    errors=[*ERRORS, "VALIDATION_ERROR"],
)
def navigation_update(ctx: CommandContext, req: NavigationUpdateRequest) -> None:
    """Set the page shown now: `route` (a path of the app starting with `/`, at most 500
    characters), `params` (an object, at most 4 KB of JSON), `title` (at most 200
    characters). It joins the back/forward history with `navigation_add_to_history`."""
    Navigation(ctx.db, ctx.user.user_id).update(req.route, req.params, req.title)


@command("navigation_add_to_history", request=EmptyRequest, permission=SIGNED_IN, errors=ERRORS)
def navigation_add_to_history(ctx: CommandContext, _req: EmptyRequest) -> None:
    """Record the current page in the caller's history, after the page the caller came
    from (pages ahead of it, left by going back, are dropped). Recording the same page
    twice records it once; with no current page it does nothing. The last 50 pages are
    kept."""
    Navigation(ctx.db, ctx.user.user_id).add_to_history()


@command(
    "navigation_get_current",
    request=EmptyRequest,
    response=NavigationState,
    permission=SIGNED_IN,
    writes=False,
    errors=ERRORS,
)
def navigation_get_current(ctx: CommandContext, _req: EmptyRequest) -> NavigationState:
    """The caller's current page (`route`, `params`, `title`; `/` before any update) and
    whether `navigation_go_back` / `navigation_go_forward` would move."""
    return Navigation(ctx.db, ctx.user.user_id).current()


@command(
    "navigation_go_back",
    request=EmptyRequest,
    response=NavigationState,
    permission=SIGNED_IN,
    errors=ERRORS,
)
def navigation_go_back(ctx: CommandContext, _req: EmptyRequest) -> NavigationState:
    """Show the previous recorded page and answer the new state (unchanged at the start
    of the history)."""
    return Navigation(ctx.db, ctx.user.user_id).go(back=True)


@command(
    "navigation_go_forward",
    request=EmptyRequest,
    response=NavigationState,
    permission=SIGNED_IN,
    errors=ERRORS,
)
def navigation_go_forward(ctx: CommandContext, _req: EmptyRequest) -> NavigationState:
    """Show the next recorded page after going back, and answer the new state (unchanged
    at the end of the history)."""
    return Navigation(ctx.db, ctx.user.user_id).go(back=False)


@command(
    "navigation_get_history",
    request=NavigationHistoryRequest,
    response=list[NavigationEntryOut],
    permission=SIGNED_IN,
    writes=False,
    errors=[*ERRORS, "VALIDATION_ERROR"],
)
def navigation_get_history(
    ctx: CommandContext, req: NavigationHistoryRequest
) -> list[NavigationEntryOut]:
    """The caller's recorded pages, newest first (`limit` 1 to 200, default 50); `current`
    marks the one the back/forward cursor is on."""
    return Navigation(ctx.db, ctx.user.user_id).history(req.limit)
