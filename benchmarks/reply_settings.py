"""Settings for the reply benchmark: the load benchmarks' own, with a view answering both ways."""

from benchmarks.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.reply_urls"
