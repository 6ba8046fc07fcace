"""Notifications: email, SMS and in-app, delivered through a durable outbox."""
