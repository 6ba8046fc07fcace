"""The desktop shell: a native window (pywebview) around the local server."""
