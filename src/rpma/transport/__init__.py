"""The ways a command reaches the dispatcher: HTTP and WebSocket."""
