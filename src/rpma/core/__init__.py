"""Cross-cutting pieces that know no domain."""
