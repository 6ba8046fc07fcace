"""The tasks domain: the job book (DOMAIN.md "Tasks")."""
