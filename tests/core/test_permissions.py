"""The role matrix: the seed's table as data, and a walk of every registered command for
each role and for an anonymous caller."""

from __future__ import annotations

import pytest

from rpma.client import IpcClient, IpcError
from rpma.core.commands import Command, registry
from rpma.core.permissions import MATRIX, Role
from tests.conftest import LiveServer

A, S, T, V = Role.ADMIN, Role.SUPERVISOR, Role.TECHNICIAN, Role.VIEWER

# The seed's Permission Matrix, transcribed row by row.
SEED_MATRIX = {
    "task.create": {A, S, T},
    "task.read": {A, S, T, V},
    "task.update": {A, S, T},
    "task.delete": {A},
    "task.assign": {A, S},
    "intervention.start": {A, S, T},
    "photo.upload": {A, S, T},
    "client.create": {A, S},
    "client.read": {A, S, T, V},
    "client.update": {A, S},
    "client.delete": {A},
    "user.create": {A},
    "user.update": {A, S},
    "user.delete": {A},
    "report.view": {A, S, T, V},
    "report.export": {A, S},
}

# Commands that end the caller's own session run last in the walk.
SESSION_ENDING = {"auth_logout"}


def test_matrix_is_the_seeds_table() -> None:
    for operation, roles in SEED_MATRIX.items():
        assert set(MATRIX[operation].roles) == roles, operation


def test_viewers_never_write() -> None:
    writes = [
        op
        for op in MATRIX
        if op.split(".")[-1]
        in {"create", "update", "delete", "assign", "start", "upload", "export"}
    ]
    assert writes
    for operation in writes:
        assert Role.VIEWER not in MATRIX[operation].roles, operation


def test_every_command_declares_a_known_permission() -> None:
    assert len(registry) > 0
    for cmd in registry:
        operations = (
            [cmd.permission] if isinstance(cmd.permission, str) else list(cmd.permission.values())
        )
        assert operations, cmd.name
        for operation in operations:
            assert operation in MATRIX, (cmd.name, operation)


def _calls(cmd: Command) -> list[tuple[str | None, dict[str, object]]]:
    if isinstance(cmd.permission, str):
        return [(None, {})]
    return [(action, {"action": action}) for action in cmd.permission]


def _walk_order() -> list[Command]:
    return sorted(registry, key=lambda c: (c.name in SESSION_ENDING, c.name))


def _outcome(client: IpcClient, name: str, args: dict[str, object]) -> str:
    try:
        client.call(name, args)
    except IpcError as error:
        return error.code
    return "OK"


@pytest.mark.parametrize("role", ["anonymous", "admin", "supervisor", "technician", "viewer"])
def test_every_command_checks_the_role(
    server: LiveServer, role_clients: dict[str, IpcClient], role: str
) -> None:
    client = role_clients.get(role) or server.client()
    checked = 0
    for cmd in _walk_order():
        for action, args in _calls(cmd):
            rule = cmd.rule(action)
            outcome = _outcome(client, cmd.name, args)
            label = f"{cmd.name}/{action} as {role}: {outcome}"
            if rule.public:
                assert outcome not in {"AUTH_FORBIDDEN", "AUTH_SESSION_INVALID"}, label
            elif role == "anonymous":
                assert outcome == "AUTH_SESSION_INVALID", label
            elif rule.allows(Role(role)):
                assert outcome not in {"AUTH_FORBIDDEN", "AUTH_SESSION_INVALID"}, label
            else:
                assert outcome == "AUTH_FORBIDDEN", label
            checked += 1
    assert checked >= len(registry)
    if role == "anonymous":
        client.close()
