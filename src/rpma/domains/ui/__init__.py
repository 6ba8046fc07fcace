"""The ui_* commands: the desktop window, the host's browser, and GPS positions."""
