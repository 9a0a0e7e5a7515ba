"""Exceptions the app raises, and the one views raise to answer an event with a 4xx."""


class RejectEvent(Exception):
    """Answer the current event with ``status`` and a short ``reason`` (refuses the connection on $connect).

    Raise it from a handler, or from code a handler calls, instead of building a response by hand.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
