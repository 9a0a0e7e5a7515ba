"""The adaptive rate, on a clock the tests hold: the ceiling paces, a throttle cuts the rate once per volley, successes
bring it back."""

from __future__ import annotations

import math

import pytest

from websockets_app.backends.pacing import AdaptiveRate


def started(rate: AdaptiveRate, now: float, count: int) -> list[float]:
    """What ``rate.take(now)`` answers ``count`` times over."""
    return [rate.take(now) for _ in range(count)]


def test_without_a_ceiling_or_a_throttle_every_request_starts_at_once():
    rate = AdaptiveRate()
    assert started(rate, 0.0, 10_000) == [0.0] * 10_000
    assert rate.rate == math.inf


def test_the_ceiling_allows_a_tenth_of_a_second_of_requests_at_once_then_one_per_token():
    rate = AdaptiveRate()
    rate.limit(100, now=0.0)
    assert started(rate, 0.0, 11) == [0.0] * 10 + [0.01]  # the burst: 10 requests; the 11th waits one token
    assert started(rate, 0.005, 1) == [pytest.approx(0.005)]  # half a token banked: half of one still to wait
    assert started(rate, 0.01, 2) == [0.0, 0.01]
    assert started(rate, 5.0, 11) == [0.0] * 10 + [0.01]  # idle time banks no more than the burst


def test_a_small_ceiling_still_starts_one_request_at_a_time():
    rate = AdaptiveRate()
    rate.limit(2, now=0.0)
    assert started(rate, 0.0, 2) == [0.0, 0.5]
    assert started(rate, 0.5, 2) == [0.0, 0.5]


def test_a_throttle_cuts_the_rate_to_seven_tenths_of_what_was_being_sent():
    """Allowed 1,000 a second but starting 60: the cut is from the 60 measured, not from the ceiling."""
    rate = AdaptiveRate()
    rate.limit(1000, now=0.0)
    started(rate, 0.0, 60)
    assert rate.throttled(started=0.0, now=0.1) is True
    assert rate.rate == pytest.approx(42.0)
    assert started(rate, 0.1, 1) == [pytest.approx(1 / 42)]  # the bucket is emptied: no volley after a cut


def test_the_429s_answering_one_volley_cut_the_rate_once():
    rate = AdaptiveRate()
    rate.limit(1000, now=0.0)
    started(rate, 0.0, 60)
    cuts = [rate.throttled(started=0.0, now=0.1 + n / 1000) for n in range(50)]
    assert cuts == [True] + [False] * 49
    assert rate.rate == pytest.approx(42.0)
    # A request started after the cut and throttled too: the new rate is still too fast, cut again.
    assert rate.throttled(started=0.2, now=0.25) is True
    assert rate.rate == pytest.approx(42.0 * 0.7)


def test_an_unpaced_sender_is_paced_from_its_first_throttle():
    rate = AdaptiveRate()
    started(rate, 0.5, 200)  # 200 in the second before
    assert rate.measured(1.25) == 150.0  # three quarters of the last window still in reach
    rate.throttled(started=1.2, now=1.25)
    assert rate.rate == pytest.approx(105.0)


def test_successes_bring_the_rate_back_to_the_ceiling_by_a_fifth_of_the_cut_rate_each_second():
    rate = AdaptiveRate()
    rate.limit(1000, now=0.0)
    started(rate, 0.0, 60)
    rate.throttled(started=0.0, now=0.1)  # 60 a second were sent: cut to 42, climbing by 12 a second
    rate.succeeded(1.1)
    assert rate.rate == pytest.approx(54.0)
    rate.succeeded(3.1)
    assert rate.rate == pytest.approx(78.0)
    rate.limit(100, now=3.1)  # a lower ceiling, still above what throttling left
    assert rate.rate == pytest.approx(78.0)
    rate.succeeded(5.1)  # 102: past the ceiling, so paced by the ceiling again
    assert (rate.rate, rate.adapted) == (100, math.inf)


def test_no_throttle_ever_stops_a_sender_altogether():
    rate = AdaptiveRate()
    rate.limit(1000, now=0.0)
    started(rate, 0.0, 3)
    for n in range(20):
        rate.throttled(started=n, now=n + 0.5)
    assert rate.rate == 10.0  # 1% of the ceiling
    assert started(rate, 20.5, 2) == [0.0, 0.1]  # ten a second, a tenth of a second apart


def test_a_lower_ceiling_applies_at_once_and_a_higher_one_ends_the_pacing_it_is_above():
    rate = AdaptiveRate()
    rate.limit(1000, now=0.0)
    started(rate, 0.0, 100)
    rate.throttled(started=0.0, now=0.1)
    assert rate.rate == pytest.approx(70.0)
    rate.limit(50, now=0.2)
    assert rate.rate == 50  # below what throttling left: the throttle is behind it
    assert rate.adapted == math.inf
    rate.limit(None, now=0.3)
    assert rate.rate == math.inf
