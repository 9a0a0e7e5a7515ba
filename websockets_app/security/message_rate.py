"""The message rate limit of one connection: a token bucket whose state is one number, the connection's clock.

Every message is a Lambda invocation and a database round trip billed to the site, so one connection may send
``count`` messages at once and ``count`` more every ``seconds`` (``WEBSOCKETS["MESSAGE_RATE_LIMIT"]``). The bucket
is kept as a clock (GCRA, the generic cell rate algorithm): each message moves the connection's
:class:`~websockets_app.models.MessageClock` ``seconds / count`` ahead, starting from now when it lags behind, and a
message that moves it more than ``seconds`` past now is refused. Refused messages move it too, so a connection that
keeps sending is refused until it slows down, and once it has sent another ``count`` over its limit it is closed.

The clock is moved by the message's one query (``events.session_lookup``): counting costs no query of its own, holds
across every Lambda container, and concurrent messages of one connection are counted one after another by the
clock row's lock. This module only judges the clock the query returns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from websockets_app.conf import conf

__all__ = ("FLOODING_REASON", "MessageAllowance", "Verdict", "epoch_microseconds", "message_allowance")

FLOODING_REASON = "Closed by the server: it kept sending more messages than its rate limit allows."
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Verdict(enum.Enum):
    HANDLE = "handle"
    REFUSE = "refuse"  # 429, the connection stays open
    CLOSE = "close"  # 429, and the connection is closed


@dataclass(frozen=True)
class MessageAllowance:
    """``count`` messages at once, ``count`` more every ``seconds``, in the microseconds the clock counts."""

    count: int
    seconds: int

    @property
    def interval(self) -> int:
        """How far one message moves the clock."""
        return self.seconds * 1_000_000 // self.count

    @property
    def burst(self) -> int:
        """How far ahead of now the clock may run for a message to be handled."""
        return self.seconds * 1_000_000

    def verdict(self, clock: int, now: int) -> Verdict:
        """What becomes of a message, from the clock its query moved (``clock``) and the time it was counted at."""
        ahead = clock - now
        if ahead <= self.burst:
            return Verdict.HANDLE
        if ahead <= 2 * self.burst:
            return Verdict.REFUSE
        return Verdict.CLOSE


def message_allowance() -> MessageAllowance | None:
    """The configured limit; ``None`` when ``MESSAGE_RATE_LIMIT`` is ``None`` (messages are then not counted)."""
    limit = conf.MESSAGE_RATE_LIMIT
    if not limit:
        return None
    count, seconds = limit
    return MessageAllowance(count=count, seconds=seconds)


def epoch_microseconds(moment: datetime) -> int:
    """``moment`` as the clock counts time: whole microseconds since 1970, exactly (no float on the way)."""
    return (moment - _EPOCH) // _MICROSECOND
