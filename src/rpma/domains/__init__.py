"""One folder per domain; importing a domain's commands module registers its commands."""

import importlib

DOMAINS = ("auth", "system")


def load_all() -> None:
    for name in DOMAINS:
        importlib.import_module(f"rpma.domains.{name}.commands")
