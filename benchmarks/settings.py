"""Settings for the load benchmarks: the project's own, less the $connect rate limits.

Every benchmark client connects from 127.0.0.1, which the per-IP limit exists to stop.
"""

from project.settings import *  # noqa: F403

WEBSOCKETS = {**WEBSOCKETS, "CONNECT_RATE_LIMIT_PER_IP": None, "CONNECT_RATE_LIMIT_PER_USER": None}  # noqa: F405
