"""RPMA v2: the workshop system for Paint Protection Film (PPF) shops."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rpma")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "2.0.0"
