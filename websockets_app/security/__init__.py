"""What guards the event path: origins, identity bound to the login, connect tokens, permissions, rate limits."""
