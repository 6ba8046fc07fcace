"""Sync between workshop machines and a central RPMA server (docs/SYNC.md)."""
