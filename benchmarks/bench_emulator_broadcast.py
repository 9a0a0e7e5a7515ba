"""Load on the local emulator: many WebSocket clients on loopback chatting in one room.

Starts ``manage.py runserver`` (the emulator) in its own process on a fresh database, connects ``--clients``
WebSocket clients to one channel, and has ``--senders`` of them each send ``--messages`` chat messages. The demo
chat broadcasts every message to the whole room through ``send_message`` and the emulator's ``@connections`` API,
so each message should reach every client. Prints deliveries per second and how many were lost; asserts nothing.

    PYTHONPATH=. python benchmarks/bench_emulator_broadcast.py [--clients 200] [--senders 20] [--messages 5]

``DATABASE_URL`` picks the database (default: a temporary SQLite file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from tests.runserver_process import runserver

CHANNEL = "bench"
QUIET_SECONDS = 10  # stop waiting once nothing has arrived for this long


def is_chat_message(frame: dict) -> bool:
    """A chat message, as sent or inside the numbered envelope of a channel with history (the demo keeps it)."""
    if frame.get("history") == "message":
        frame = frame["data"]
    return frame.get("type") == "message"


async def run(host: str, clients: int, senders: int, messages: int) -> dict[str, float]:
    url = f"ws://{host}/local?channel={CHANNEL}"
    received = [0] * clients
    errors: list[dict] = []
    last_arrival = [time.perf_counter()]
    connect_started = time.perf_counter()
    sockets = await asyncio.gather(*(connect(url, open_timeout=60) for _ in range(clients)))
    connect_seconds = time.perf_counter() - connect_started

    async def read(index: int) -> None:
        async for frame in sockets[index]:
            if not frame:
                continue  # a two-way route's empty answer to a handler that returned nothing
            message = json.loads(frame)
            if "error" in message:
                errors.append(message["error"])
            elif is_chat_message(message):
                received[index] += 1
                last_arrival[0] = time.perf_counter()

    readers = [asyncio.create_task(read(index)) for index in range(clients)]
    expected = senders * messages * clients
    started = last_arrival[0] = time.perf_counter()
    for round_number in range(messages):
        await asyncio.gather(
            *(
                sockets[sender].send(json.dumps({"action": "sendmessage", "message": f"{sender}:{round_number}"}))
                for sender in range(senders)
            )
        )
    while sum(received) < expected and time.perf_counter() - last_arrival[0] < QUIET_SECONDS:
        await asyncio.sleep(0.05)
    elapsed = last_arrival[0] - started
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(socket.close() for socket in sockets))
    delivered = sum(received)
    return {
        "connect_seconds": connect_seconds,
        "expected": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "seconds": elapsed,
        "deliveries_per_second": delivered / elapsed if elapsed > 0 else 0.0,
        "sends_per_second": senders * messages / elapsed if elapsed > 0 else 0.0,
        "client_errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        with runserver(database_url, settings="benchmarks.settings", log_level="WARNING") as (url, server_lines):
            figures = asyncio.run(run(url.removeprefix("http://"), options.clients, options.senders, options.messages))
            errors = [line for line in server_lines if any(word in line for word in ("Traceback", "Error", "failed ("))]
    database = database_url.split(":", 1)[0]
    print(
        f"emulator broadcast ({database}): {options.clients} clients in one room, "
        f"{options.senders} senders x {options.messages} messages"
    )
    print(f"  connected all clients in {figures['connect_seconds']:.2f} s")
    print(
        f"  delivered {figures['delivered']} of {figures['expected']} messages in {figures['seconds']:.2f} s: "
        f"{figures['deliveries_per_second']:.0f} messages/s received "
        f"({figures['sends_per_second']:.1f} broadcasts/s), lost {figures['lost']}"
    )
    print(f"  error frames the senders got: {len(figures['client_errors'])}")
    for error in figures["client_errors"][:5]:
        print(f"    {error}")
    print(f"  server errors logged: {len(errors)}")
    for line in errors[:5]:
        print(f"    {line}")


if __name__ == "__main__":
    main()
