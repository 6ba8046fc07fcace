"""Commands of this domain (being written)."""
