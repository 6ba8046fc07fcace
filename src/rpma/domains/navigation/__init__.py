"""Navigation: each user's current page and back/forward history, kept across restarts."""
