"""Sending messages to connections: one, a channel or everyone, in batches past one Lambda's reach."""
