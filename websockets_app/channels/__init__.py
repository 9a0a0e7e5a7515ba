"""Channels: broadcasts to a channel's members, with history kept and presence shown where asked."""
