"""The photos domain."""
