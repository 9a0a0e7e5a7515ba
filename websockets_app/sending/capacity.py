"""How many messages one Lambda invocation sends: the sender's measured throughput at the function's memory.

Lambda gives CPU in proportion to memory (a whole vCPU at 1,769 MB), and the sender is one event loop, so at most
one core counts. ``benchmarks/bench_sender_quota.py`` measures messages sent in 25 s by a process held to 0.3 vCPU
(a 512 MB Lambda); the rate per vCPU below comes from it, rounded down. A batch is what fits in about 25 s, which
leaves room within the 30 s timeout of ``zappa_settings.json``; a batch that still runs short of time hands the
rest on (``websockets_app.sending.batches``).
"""

from __future__ import annotations

import os

__all__ = ("messages_per_invocation",)

# From ``bench_sender_quota.py --tls``, rounded down; docs/topics/performance.md has the run it comes from.
MESSAGES_PER_VCPU_SECOND = 11_000
MB_PER_VCPU = 1769
SECONDS_PER_BATCH = 25
SMALLEST_BATCH = 100


def messages_per_invocation(memory_mb: int | None = None) -> int:
    """Messages one invocation of a function with ``memory_mb`` (default: this Lambda's) sends in ~25 s."""
    if memory_mb is None:
        memory_mb = _function_memory_mb()
    vcpu = min(1.0, memory_mb / MB_PER_VCPU)
    return max(SMALLEST_BATCH, int(MESSAGES_PER_VCPU_SECOND * vcpu * SECONDS_PER_BATCH))


def _function_memory_mb() -> int:
    """Lambda's ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``; off Lambda, a whole core."""
    value = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    return int(value) if value.isdigit() and int(value) > 0 else MB_PER_VCPU
