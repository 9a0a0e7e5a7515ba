import pytest
from django.core import signals
from django.db import close_old_connections


@pytest.fixture
def lambda_handler():
    """The real Lambda entry point, with the test's database connection kept open.

    Like Django's test client, stop request signals from closing the connection that holds the test transaction.
    """
    from project.lambda_handler import lambda_handler

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield lambda_handler
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
