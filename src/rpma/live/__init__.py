"""Live updates: the /ws hub (docs/LIVE.md)."""
