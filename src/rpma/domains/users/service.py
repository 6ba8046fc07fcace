"""User administration (user_crud) and password changes.

The role matrix is checked by the dispatcher; this service applies what the matrix
cannot see: the supervisor's "self only" scope, the admin who may not remove
themselves, and the last active admin who may never be removed.
Services flush, never commit: the dispatcher owns the transaction.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import ClientInfo, Principal
from rpma.core.db import SESSIONS_CHANGED, note_for_commit
from rpma.core.errors import AuthenticationError, AuthorizationError, NotFound, ValidationFailed
from rpma.core.pagination import PageInfo, Pagination
from rpma.core.permissions import Role
from rpma.core.services import Services
from rpma.domains.auth.schemas import CreateAccountRequest
from rpma.domains.auth.service import AuthService
from rpma.domains.auth.sessions import end_user_sessions
from rpma.domains.security.service import EventType, record
from rpma.domains.users.models import User
from rpma.domains.users.repository import UserRepository
from rpma.domains.users.schemas import UserFilters, UserUpdateData

# Profile fields that may not be cleared (a null means "make it empty", which they
# cannot be); ``phone`` may.
_REQUIRED_PROFILE_FIELDS = ("first_name", "last_name", "username", "email")

FailureWrite = Callable[[Callable[[Session], None]], None]


class UserService:
    """``actor`` is the signed-in caller, or None for the operator at the server's
    console (the ``rpma users`` commands)."""

    def __init__(
        self,
        db: Session,
        services: Services,
        actor: Principal | None,
        client: ClientInfo | None = None,
        *,
        on_failure: FailureWrite | None = None,
    ) -> None:
        self.db = db
        self.services = services
        self.actor = actor
        self.client = client
        self.users = UserRepository(db)
        self._on_failure = on_failure

    @property
    def actor_id(self) -> str | None:
        return self.actor.user_id if self.actor else None

    # Reading --------------------------------------------------------------------------
    def get(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise NotFound("NOT_FOUND_USER", "User not found", user_id=user_id)
        return user

    def by_email(self, email: str) -> User:
        user = self.users.by_email(email)
        if user is None:
            raise NotFound("NOT_FOUND_USER", "User not found", email=email)
        return user

    def list(self, filters: UserFilters, pagination: Pagination) -> tuple[list[User], PageInfo]:
        users, total = self.users.page(
            role=filters.role,
            is_active=filters.is_active,
            search=filters.search,
            offset=(pagination.page - 1) * pagination.page_size,
            limit=pagination.page_size,
        )
        info = PageInfo(
            page=pagination.page,
            page_size=pagination.page_size,
            total=total,
            total_pages=math.ceil(total / pagination.page_size),
        )
        return users, info

    # Writing --------------------------------------------------------------------------
    def create(self, req: CreateAccountRequest) -> User:
        role = Role(req.role or Role.TECHNICIAN.value)
        user = AuthService(self.db, self.services).create_user(
            req, role=role, actor_id=self.actor_id
        )
        self._event(EventType.USER_CREATED, f"User {user.email} created", user, role=role.value)
        return user

    def update(self, data: UserUpdateData) -> User:
        if (
            self.actor is not None
            and self.actor.role is not Role.ADMIN
            and data.id != self.actor.user_id
        ):
            self._deny(f"{self.actor.role.value} may update only their own account", data.id)
            raise AuthorizationError(message="A supervisor may update only their own account")
        user = self.get(data.id)
        changes = {name: getattr(data, name) for name in data.model_fields_set if name != "id"}
        for name in _REQUIRED_PROFILE_FIELDS:
            if name in changes and changes[name] is None:
                raise ValidationFailed(
                    message=f"data.{name}: may not be empty",
                    fields=[{"field": f"data.{name}", "message": "may not be empty"}],
                )
        email = changes.get("email")
        if email is not None and self.users.email_taken(email, except_id=user.id):
            raise ValidationFailed("VALIDATION_EMAIL_TAKEN", "Email already in use", field="email")
        username = changes.get("username")
        if username is not None and self.users.username_taken(username, except_id=user.id):
            raise ValidationFailed(
                "VALIDATION_USERNAME_TAKEN", "Username already in use", field="username"
            )
        changed = {k: v for k, v in changes.items() if getattr(user, k) != v}
        if changed:
            for name, value in changed.items():
                setattr(user, name, value)
            self._touch(user)
        return user

    def change_role(self, user_id: str, role: Role) -> User:
        user = self.get(user_id)
        old = Role(user.role)
        if old is role:
            return user
        if old is Role.ADMIN:
            self._refuse_self(user, "change your own role")
            self._keep_an_admin(user, "demoted")
        user.role = role.value
        self._touch(user)
        note_for_commit(self.db, SESSIONS_CHANGED)  # open /ws connections take the new role
        self._event(
            EventType.ROLE_CHANGED,
            f"Role of {user.email} changed from {old.value} to {role.value}",
            user,
            old_role=old.value,
            new_role=role.value,
        )
        return user

    def activate(self, user_id: str) -> User:
        user = self.get(user_id)
        if not user.is_active:
            user.is_active = True
            self._touch(user)
            self._event(EventType.USER_ACTIVATED, f"User {user.email} activated", user)
        return user

    def deactivate(self, user_id: str) -> User:
        user = self.get(user_id)
        self._refuse_self(user, "deactivate your own account")
        if user.is_active:
            self._keep_an_admin(user, "deactivated")
            user.is_active = False
            self._touch(user)
            ended = end_user_sessions(self.db, user.id, "user_deactivated")
            self._event(
                EventType.USER_DEACTIVATED,
                f"User {user.email} deactivated",
                user,
                sessions_ended=ended,
            )
        return user

    def delete(self, user_id: str) -> None:
        """A soft delete: the row stays (history points at it, its email stays taken)."""
        user = self.get(user_id)
        self._refuse_self(user, "delete your own account")
        self._keep_an_admin(user, "deleted")
        now = clock.now_ms()
        user.deleted_at = now
        user.is_active = False
        self._touch(user)
        ended = end_user_sessions(self.db, user.id, "user_deleted")
        self._event(
            EventType.USER_DELETED, f"User {user.email} deleted", user, sessions_ended=ended
        )

    def reset_password(self, user_id: str, new_password: str) -> int:
        """Set someone else's password; every session of theirs ends. Answers how many."""
        user = self.get(user_id)
        # Changing one's own password must prove the current one
        # (settings_change_user_password): a stolen session alone must not suffice.
        self._refuse_self(
            user, "reset your own password; use settings_change_user_password instead"
        )
        self._set_password(user, new_password)
        # A reset is how an admin lets a locked-out user back in: the lock goes too.
        user.failed_login_attempts = 0
        user.first_failed_login_at = None
        user.locked_until = None
        ended = end_user_sessions(self.db, user.id, "password_reset")
        self._event(
            EventType.PASSWORD_RESET,
            f"Password of {user.email} reset",
            user,
            sessions_ended=ended,
        )
        return ended

    def change_own_password(self, current_password: str, new_password: str) -> int:
        """The caller's own password, proven by the current one. Their other sessions
        end; the calling one goes on. Answers how many ended."""
        if self.actor is None:  # pragma: no cover - only commands call this
            raise AuthorizationError(message="Authentication required")
        user = self.get(self.actor.user_id)
        if not self.services.passwords.verify(user.password_hash, current_password):
            raise AuthenticationError(message="The current password is incorrect")
        if new_password == current_password:
            raise ValidationFailed(
                message="The new password must differ from the current one",
                fields=[{"field": "new_password", "message": "same as the current password"}],
            )
        self._set_password(user, new_password)
        ended = end_user_sessions(self.db, user.id, "password_changed", keep=self.actor.session_id)
        self._event(
            EventType.PASSWORD_CHANGED, "Password changed", user, other_sessions_ended=ended
        )
        return ended

    # Rules ------------------------------------------------------------------------------
    def _refuse_self(self, user: User, what: str) -> None:
        if self.actor is not None and user.id == self.actor.user_id:
            raise ValidationFailed(message=f"You cannot {what}; ask another admin", id=user.id)

    def _keep_an_admin(self, user: User, outcome: str) -> None:
        if user.role != Role.ADMIN.value or not user.is_active:
            return
        others = [i for i in self.users.active_admin_ids(lock=True) if i != user.id]
        if not others:
            raise ValidationFailed(
                message=f"The last active admin cannot be {outcome}: make another user admin first",
                id=user.id,
            )

    def _deny(self, description: str, target_id: str) -> None:
        """Record the refusal; it must survive the rollback of the refused command."""
        if self._on_failure is None or self.actor is None:
            return
        actor, client = self.actor, self.client
        self._on_failure(
            lambda db: record(
                db,
                EventType.PERMISSION_DENIED,
                description,
                user_id=actor.user_id,
                client=client,
                role=actor.role.value,
                target_user_id=target_id,
            )
        )

    def _set_password(self, user: User, password: str) -> None:
        user.password_hash = self.services.passwords.hash(password)
        user.password_changed_at = clock.now_ms()
        self._touch(user)

    def _touch(self, user: User) -> None:
        user.updated_at = clock.now_ms()
        user.updated_by = self.actor_id or user.updated_by
        user.version = (user.version or 0) + 1
        self.db.flush()

    def _event(
        self, event_type: EventType, description: str, user: User, **details: object
    ) -> None:
        if self.actor is None:
            details["by"] = "console"
        elif self.actor.user_id != user.id:
            details["actor_id"] = self.actor.user_id
        record(self.db, event_type, description, user_id=user.id, client=self.client, **details)
