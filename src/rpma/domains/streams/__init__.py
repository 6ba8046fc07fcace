"""The streams domain."""
