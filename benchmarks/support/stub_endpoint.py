"""A stub ``@connections`` endpoint in its own process: keep-alive HTTP/1.1, an empty 200 after a fixed latency.

API Gateway answers a post from inside its region after a few milliseconds; the stub does the same so that sending
is measured with requests in flight, not against an instant local answer. Its own CPU is not the sender's.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _serve(latency: float, port_sink: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                await asyncio.sleep(latency)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
        port_sink.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


@contextmanager
def stub_endpoint(latency_ms: float, stage: str) -> Iterator[str]:
    """Start the stub; yields its endpoint URL (``http://127.0.0.1:PORT/<stage>``) and stops it afterwards."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_serve, args=(latency_ms / 1000, send), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{receive.recv()}/{stage}"
    finally:
        process.terminate()
        process.join()
