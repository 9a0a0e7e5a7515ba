"""Settings for the load benchmarks: the project's own, less the $connect rate limits and presence events.

Every benchmark client connects from 127.0.0.1, which the per-IP limit exists to stop. Presence events would have
each of hundreds of clients connecting at once announced to all the others, still being delivered when the timed
broadcasts begin; ``bench_history.py`` measures presence on its own.
"""

from project.settings import *  # noqa: F403

WEBSOCKETS = {
    **WEBSOCKETS,  # noqa: F405
    "CONNECT_RATE_LIMIT_PER_IP": None,
    "CONNECT_RATE_LIMIT_PER_USER": None,
    "PRESENCE_EVENTS_CHANNELS": (),
}
