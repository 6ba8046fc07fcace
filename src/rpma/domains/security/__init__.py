"""The security domain: the security event trail and its metrics."""
