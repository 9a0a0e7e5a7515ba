"""How fast a sender starts requests: a token bucket whose rate backs off when API Gateway throttles.

API Gateway answers ``429 LimitExceededException`` when the account's requests per second (shared by every API of
the account and Region) run out. Retrying those posts as fast as they come back turns one throttle into a storm, and
a retry budget then fails every post at once. A 429 is backpressure, so the sender asks :class:`AdaptiveRate`
before it starts each request (retries included) and slows down when it is throttled:

- the rate never exceeds the *ceiling*, the requests per second the caller allows (``SendOptions.rate_limit``);
- a throttled answer cuts the rate to :data:`DECREASE` of what was being sent (multiplicative decrease, as TCP's
  congestion window and botocore's "adaptive" retry mode do). The answers to requests started before that cut
  say nothing about the new rate, so the 429s answering one volley count once;
- while posts succeed, the rate climbs back by :data:`RECOVERY` of the rate that was throttled each second (additive
  increase) until it reaches the ceiling, where pacing by throttling ends;
- the bucket holds :data:`BURST_SECONDS` worth of requests, so the sender never fires a big volley.

"What was being sent" is the rate measured over the last second, when that is below the bucket's rate: a sender
allowed 1,000 requests a second but starting 60 is cut to 42, not to 700.

An :class:`AdaptiveRate` belongs to one thread (the sender's), which passes the time to each call: no lock, no clock
of its own, and tests drive it with plain numbers.
"""

from __future__ import annotations

import math

__all__ = ("BURST_SECONDS", "DECREASE", "MIN_RATE", "MIN_SHARE", "RECOVERY", "AdaptiveRate")

# The bucket holds this many seconds' worth of requests at the current rate (at least one request).
BURST_SECONDS = 0.1
# A throttled answer leaves this share of the rate that was being sent (botocore's CUBIC uses the same 0.7).
DECREASE = 0.7
# Each second of successes after a cut adds this share of the rate that was cut.
RECOVERY = 0.2
# However often it is throttled, a sender keeps starting this share of its ceiling a second, and at least MIN_RATE:
# cut after cut would otherwise leave it crawling long after the throttle lifted (the site's senders together keep
# 1% of SEND_RATE_LIMIT).
MIN_SHARE = 0.01
MIN_RATE = 1.0
# The requests started are counted over windows of this many seconds.
MEASURE_SECONDS = 1.0


class AdaptiveRate:
    """A token bucket whose rate is the lower of the ceiling and what throttling left of it.

    ``rate`` is ``math.inf`` while the sender is unpaced: no ceiling, and no throttle it has not recovered from.
    """

    def __init__(self) -> None:
        self.ceiling = math.inf
        # What throttling left (inf: never throttled, or recovered to the ceiling), and how fast it climbs back.
        self.adapted = math.inf
        self._slope = 0.0
        self._grown_at = 0.0
        self._last_cut = -math.inf
        self._tokens = math.inf  # a new bucket starts full
        self._filled_at = 0.0
        # Requests started in the current measuring window and the one before it.
        self._window = 0
        self._current = 0
        self._previous = 0

    @property
    def rate(self) -> float:
        return min(self.ceiling, self.adapted)

    def limit(self, ceiling: float | None, now: float) -> None:
        """Pace at ``ceiling`` requests a second at most from ``now`` (None: no ceiling)."""
        self._fill(now)
        self.ceiling = math.inf if ceiling is None else ceiling
        if self.adapted >= self.ceiling:
            self.adapted = math.inf

    def take(self, now: float) -> float:
        """0.0 when a request may start at ``now`` (its token is taken); else the seconds until one may, and
        nothing is taken."""
        rate = self.ceiling if self.ceiling < self.adapted else self.adapted
        if rate != math.inf:
            tokens = self._tokens + (now - self._filled_at) * rate
            capacity = rate * BURST_SECONDS
            if capacity < 1.0:
                capacity = 1.0
            if tokens > capacity:
                tokens = capacity
            self._filled_at = now
            if tokens < 1.0:
                self._tokens = tokens
                return (1.0 - tokens) / rate
            self._tokens = tokens - 1.0
        window = int(now // MEASURE_SECONDS)
        if window != self._window:
            self._roll(window)
        self._current += 1
        return 0.0

    def throttled(self, started: float, now: float) -> bool:
        """A request started at ``started`` was throttled at ``now``: cut the rate, unless it was started before the
        last cut (the cut answered it already). True when the rate was cut."""
        if started < self._last_cut:
            return False
        sent = min(self.rate, self.measured(now))
        floor = max(MIN_RATE, MIN_SHARE * self.ceiling) if self.ceiling != math.inf else MIN_RATE
        self.adapted = max(floor, sent * DECREASE)
        self._slope = max(floor, sent) * RECOVERY
        self._grown_at = self._last_cut = self._filled_at = now
        self._tokens = 0.0
        return True

    def succeeded(self, now: float) -> None:
        """A request was answered without throttling: the rate climbs back toward the ceiling."""
        if self.adapted == math.inf:
            return
        self._fill(now)
        self.adapted += self._slope * (now - self._grown_at)
        self._grown_at = now
        if self.adapted >= self.ceiling:
            self.adapted = math.inf

    def measured(self, now: float) -> float:
        """Requests started in the last :data:`MEASURE_SECONDS`, per second (the window before the current one
        counted for the part of it still within reach)."""
        window = int(now // MEASURE_SECONDS)
        if window != self._window:
            self._roll(window)
        elapsed = now / MEASURE_SECONDS - window
        return (self._previous * (1.0 - elapsed) + self._current) / MEASURE_SECONDS

    def _roll(self, window: int) -> None:
        self._previous = self._current if window == self._window + 1 else 0
        self._current = 0
        self._window = window

    def _fill(self, now: float) -> None:
        """Bank the tokens earned until ``now`` at the current rate, before the rate changes."""
        rate = self.rate
        if rate == math.inf:
            self._tokens = math.inf
        else:
            self._tokens = min(max(1.0, rate * BURST_SECONDS), self._tokens + (now - self._filled_at) * rate)
        self._filled_at = now
