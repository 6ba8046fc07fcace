"""The settings domain: application settings stored in the database."""
