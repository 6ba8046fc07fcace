"""Performance figures of the running server and its application cache."""
