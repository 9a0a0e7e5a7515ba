"""Rate limits that hold on Lambda: counted where every container sees them, per /64 for IPv6, on tokens too."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.aws_events import connect_event
from tests.test_concurrency import run_in_threads
from websockets_app import checks
from websockets_app.cleanup import clear_sessions
from websockets_app.models import ConnectToken, RateLimitCounter, WebSocketSession
from websockets_app.security import rate_limits as ratelimit
from websockets_app.security.rate_limits import client_address_identity
from websockets_app.security.tokens import issue_connect_token, redeem_connect_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]

TOO_MANY = {"statusCode": 429, "body": "Too many connections from this address; try again later."}


def statuses(lambda_handler, addresses: list[str]) -> list[int]:
    return [
        lambda_handler(connect_event(connection_id=f"c{n}=", source_ip=address), None)["statusCode"]
        for n, address in enumerate(addresses)
    ]


def test_a_cold_start_does_not_reset_the_count(lambda_handler, settings):
    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": (2, 60)}
    assert statuses(lambda_handler, ["198.51.100.1", "198.51.100.1"]) == [200, 200]
    caches["default"].clear()  # what a new container starts with

    assert lambda_handler(connect_event(connection_id="after=", source_ip="198.51.100.1"), None) == TOO_MANY
    assert list(RateLimitCounter.objects.values_list("count", flat=True)) == [3]


def test_a_dummy_cache_does_not_turn_limits_off(lambda_handler, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": (2, 60)}

    assert statuses(lambda_handler, ["198.51.100.1"] * 3) == [200, 200, 429]


def test_a_named_shared_cache_is_used_instead_of_the_database(lambda_handler, settings):
    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": (2, 60), "RATE_LIMIT_CACHE": "default"}

    assert statuses(lambda_handler, ["198.51.100.1"] * 3) == [200, 200, 429]
    assert RateLimitCounter.objects.count() == 0


def test_ipv6_clients_are_counted_per_64(lambda_handler, settings):
    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": (3, 60)}
    same_64 = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2:abcd::9"]

    assert statuses(lambda_handler, same_64) == [200, 200, 200, 429]
    assert statuses(lambda_handler, ["2001:db8:1:3::1"]) == [200]


def test_the_ipv6_prefix_is_configurable(lambda_handler, settings):
    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": (1, 60), "RATE_LIMIT_IPV6_PREFIX": 48}

    assert statuses(lambda_handler, ["2001:db8:1:2::1", "2001:db8:1:ffff::1", "2001:db8:2::1"]) == [200, 429, 200]


@pytest.mark.parametrize(
    ("address", "identity"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("", ""),
        (None, ""),
    ],
)
def test_what_an_address_is_counted_as(address, identity):
    assert client_address_identity(address) == identity


@pytest.mark.parametrize(
    ("backend", "problem"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", "a LocMemCache that keeps its counters per process"),
        ("django.core.cache.backends.dummy.DummyCache", "a DummyCache that keeps nothing"),
        ("django.core.cache.backends.filebased.FileBasedCache", "a FileBasedCache that keeps its counters on one"),
    ],
)
def test_a_per_process_or_dummy_cache_is_flagged(settings, tmp_path, backend, problem):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "counters": {"BACKEND": backend, "LOCATION": str(tmp_path)},
    }
    settings.WEBSOCKETS = {"RATE_LIMIT_CACHE": "counters"}

    [warning] = checks.check_rate_limit_store()

    assert warning.id == "websockets_app.W102"
    assert problem in warning.msg
    assert warning.hint == (
        "Remove RATE_LIMIT_CACHE to count in the database (the default), or name a cache every container shares "
        "with atomic increments (Redis, Memcached)."
    )


@pytest.mark.parametrize(
    "websockets",
    [{}, {"RATE_LIMIT_CACHE": "shared"}],
)
def test_the_database_or_a_shared_cache_is_not_flagged(settings, websockets):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379"},
    }
    settings.WEBSOCKETS = websockets

    assert checks.check_rate_limit_store() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database with row locks: PostgreSQL")
def test_concurrent_connects_are_counted_exactly(lambda_handler, settings):
    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": (10, 60), "CONNECT_RATE_LIMIT_PER_USER": None}
    events = [connect_event(connection_id=f"race{n:02d}=", source_ip="198.51.100.1") for n in range(40)]

    answers = run_in_threads(lambda_handler, events)

    assert sorted(answer["statusCode"] for answer in answers) == [200] * 10 + [429] * 30
    assert WebSocketSession.objects.count() == 10
    assert list(RateLimitCounter.objects.values_list("count", flat=True)) == [40]


class TestConnectTokens:
    def test_issuing_is_rate_limited_per_user(self, settings):
        settings.WEBSOCKETS = {"CONNECT_TOKEN_RATE_LIMIT_PER_USER": (3, 60)}
        alice, bob = get_user_model().objects.create_user("alice"), get_user_model().objects.create_user("bob")
        browsers = {user.username: Client() for user in (alice, bob)}
        browsers["alice"].force_login(alice)
        browsers["bob"].force_login(bob)

        answers = [browsers["alice"].post("/websockets/connect-token/") for _ in range(4)]

        assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
        assert answers[3].json() == {"error": "Too many connect tokens asked for; try again later."}
        assert browsers["bob"].post("/websockets/connect-token/").status_code == 200
        assert ConnectToken.objects.filter(user=alice).count() == 3

    def test_the_default_limit_is_twenty_a_minute(self):
        alice = get_user_model().objects.create_user("alice")
        browser = Client()
        browser.force_login(alice)

        answers = [browser.post("/websockets/connect-token/").status_code for _ in range(21)]

        assert answers == [200] * 20 + [429]

    def test_cleanup_deletes_spent_and_expired_tokens_and_old_counters(self):
        alice = get_user_model().objects.create_user("alice")
        spent, fresh, expired = issue_connect_token(alice), issue_connect_token(alice), issue_connect_token(alice)
        assert redeem_connect_token(spent) is not None
        ConnectToken.objects.filter(token_hash=ConnectToken.objects.order_by("pk")[2].token_hash).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        now = timezone.now()
        RateLimitCounter.objects.create(key="old", count=5, expires_at=now - timedelta(seconds=1))
        RateLimitCounter.objects.create(key="current", count=5, expires_at=now + timedelta(seconds=30))

        result = clear_sessions()

        assert (result.tokens_deleted, result.counters_deleted) == (2, 1)
        assert redeem_connect_token(fresh).user == alice
        assert redeem_connect_token(expired) is None
        assert list(RateLimitCounter.objects.values_list("key", flat=True)) == ["current"]


def test_databases_without_upsert_count_the_same(lambda_handler, settings, monkeypatch):
    monkeypatch.setattr(ratelimit, "UPSERT_VENDORS", frozenset())
    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": (2, 60)}

    assert statuses(lambda_handler, ["198.51.100.1"] * 3 + ["198.51.100.2"]) == [200, 200, 429, 200]
    assert sorted(RateLimitCounter.objects.values_list("count", flat=True)) == [1, 3]
