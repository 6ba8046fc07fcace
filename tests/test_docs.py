"""docs/COMMANDS.md is generated from the registry; it must match the code."""

from __future__ import annotations

from pathlib import Path

from rpma.core.commands import registry
from rpma.docgen import render_commands

ROOT = Path(__file__).resolve().parent.parent


def test_commands_reference_is_current() -> None:
    committed = (ROOT / "docs" / "COMMANDS.md").read_text()
    assert committed == render_commands(registry), "run `make docs` and commit docs/COMMANDS.md"


def test_every_command_is_documented() -> None:
    text = (ROOT / "docs" / "COMMANDS.md").read_text()
    for name in registry.names():
        assert f"### `{name}`" in text
