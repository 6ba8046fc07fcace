"""The clients domain: the workshop's customers (DOMAIN.md "Clients")."""
