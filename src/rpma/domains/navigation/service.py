"""Back/forward per user, as a browser does it, kept in the database.

* ``update`` sets the page shown now (not yet recorded);
* ``add_to_history`` records it: after the cursor's entry (the pages ahead of the cursor
  are dropped, as a browser drops "forward" when you go somewhere new), unless it is the
  cursor's page already (so recording twice is harmless);
* ``back`` shows the recorded page before the current one (the cursor's own page when
  the current one was never recorded); ``forward`` the one after.

Either order of update and add_to_history gives the same history. At most
``HISTORY_LIMIT`` entries are kept per user; the oldest go first.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Final

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.domains.navigation.models import NavigationEntry, NavigationState
from rpma.domains.navigation.schemas import NavigationEntryOut
from rpma.domains.navigation.schemas import NavigationState as StateOut

HISTORY_LIMIT: Final = 50
HOME_ROUTE: Final = "/"


def _dump(params: dict[str, Any] | None) -> str | None:
    return None if params is None else json.dumps(params, sort_keys=True)


def _load(params: str | None) -> dict[str, Any] | None:
    return None if params is None else dict(json.loads(params))


class Navigation:
    def __init__(self, db: Session, user_id: str) -> None:
        self.db = db
        self.user_id = user_id

    # --- reads ---------------------------------------------------------------------------
    def _state(self, *, lock: bool = False) -> NavigationState | None:
        query = select(NavigationState).where(NavigationState.user_id == self.user_id)
        return self.db.scalar(query.with_for_update() if lock else query)

    def _entry(self, position: int | None) -> NavigationEntry | None:
        if position is None:
            return None
        return self.db.scalar(
            select(NavigationEntry).where(
                NavigationEntry.user_id == self.user_id, NavigationEntry.position == position
            )
        )

    def _neighbour(self, position: int, *, before: bool) -> NavigationEntry | None:
        query = select(NavigationEntry).where(NavigationEntry.user_id == self.user_id)
        if before:
            query = query.where(NavigationEntry.position < position)
            query = query.order_by(NavigationEntry.position.desc())
        else:
            query = query.where(NavigationEntry.position > position)
            query = query.order_by(NavigationEntry.position)
        return self.db.scalar(query.limit(1))

    @staticmethod
    def _same_page(state: NavigationState, entry: NavigationEntry | None) -> bool:
        return entry is not None and (entry.route, entry.params) == (state.route, state.params)

    def _back_target(self, state: NavigationState | None) -> NavigationEntry | None:
        if state is None or state.cursor is None:
            return None
        entry = self._entry(state.cursor)
        if not self._same_page(state, entry):
            return entry  # the current page was never recorded: back is the cursor's page
        return self._neighbour(state.cursor, before=True)

    def _forward_target(self, state: NavigationState | None) -> NavigationEntry | None:
        if state is None or state.cursor is None:
            return None
        if not self._same_page(state, self._entry(state.cursor)):
            return None  # somewhere new: what was ahead no longer applies
        return self._neighbour(state.cursor, before=False)

    def current(self) -> StateOut:
        state = self._state()
        if state is None:
            return StateOut(route=HOME_ROUTE, can_go_back=False, can_go_forward=False)
        return StateOut(
            route=state.route,
            params=_load(state.params),
            title=state.title,
            can_go_back=self._back_target(state) is not None,
            can_go_forward=self._forward_target(state) is not None,
        )

    def history(self, limit: int) -> list[NavigationEntryOut]:
        state = self._state()
        cursor = state.cursor if state is not None else None
        rows = self.db.scalars(
            select(NavigationEntry)
            .where(NavigationEntry.user_id == self.user_id)
            .order_by(NavigationEntry.position.desc())
            .limit(limit)
        )
        return [
            NavigationEntryOut(
                position=row.position,
                route=row.route,
                params=_load(row.params),
                title=row.title,
                visited_at=row.visited_at,
                current=row.position == cursor,
            )
            for row in rows
        ]

    # --- writes --------------------------------------------------------------------------
    def update(self, route: str, params: dict[str, Any] | None, title: str | None) -> None:
        state = self._state(lock=True)
        now = clock.now_ms()
        if state is None:
            self.db.add(
                NavigationState(
                    user_id=self.user_id,
                    route=route,
                    params=_dump(params),
                    title=title,
                    cursor=None,
                    updated_at=now,
                )
            )
        else:
            state.route, state.params, state.title = route, _dump(params), title
            state.updated_at = now
        self.db.flush()

    def add_to_history(self) -> None:
        state = self._state(lock=True)
        if state is None:
            return  # nothing shown yet: nothing to record
        entry = self._entry(state.cursor)
        now = clock.now_ms()
        if entry is not None and self._same_page(state, entry):
            entry.title, entry.visited_at = state.title, now
            self.db.flush()
            return
        if state.cursor is not None:
            self.db.execute(
                delete(NavigationEntry).where(
                    NavigationEntry.user_id == self.user_id,
                    NavigationEntry.position > state.cursor,
                )
            )
        last = self.db.scalar(
            select(func.max(NavigationEntry.position)).where(
                NavigationEntry.user_id == self.user_id
            )
        )
        position = (last or 0) + 1
        self.db.add(
            NavigationEntry(
                id=str(uuid.uuid4()),
                user_id=self.user_id,
                position=position,
                route=state.route,
                params=state.params,
                title=state.title,
                visited_at=now,
            )
        )
        state.cursor, state.updated_at = position, now
        self.db.flush()
        self.db.execute(
            delete(NavigationEntry).where(
                NavigationEntry.user_id == self.user_id,
                NavigationEntry.position <= position - HISTORY_LIMIT,
            )
        )

    def go(self, *, back: bool) -> StateOut:
        """Move back (or forward) one recorded page; at either end, nothing moves."""
        state = self._state(lock=True)
        target = self._back_target(state) if back else self._forward_target(state)
        if state is not None and target is not None:
            state.route, state.params, state.title = target.route, target.params, target.title
            state.cursor, state.updated_at = target.position, clock.now_ms()
            self.db.flush()
        return self.current()
