"""A stub ``@connections`` endpoint in its own process: keep-alive HTTP/1.1, an empty 200 after a fixed latency.

API Gateway answers a post from inside its region after a few milliseconds; the stub does the same so that sending
is measured with requests in flight, not against an instant local answer. Its own CPU is not the sender's.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _serve(latency: float, port_sink: Any, certificate: tuple[bytes, bytes] | None) -> None:
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
        context = None
        if certificate:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            with tempfile.TemporaryDirectory() as directory:
                chain, key = Path(directory) / "chain.pem", Path(directory) / "key.pem"
                chain.write_bytes(certificate[0])
                key.write_bytes(certificate[1])
                context.load_cert_chain(chain, key)
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096, ssl=context)
        port_sink.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


@contextmanager
def stub_endpoint(latency_ms: float, stage: str, certificate: tuple[bytes, bytes] | None = None) -> Iterator[str]:
    """Start the stub; yields its endpoint URL (``http://127.0.0.1:PORT/<stage>``) and stops it afterwards.

    With ``certificate`` (its chain and key, PEM) it answers over TLS, as API Gateway does, at ``https://``."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_serve, args=(latency_ms / 1000, send, certificate), daemon=True)
    process.start()
    try:
        yield f"{'https' if certificate else 'http'}://127.0.0.1:{receive.recv()}/{stage}"
    finally:
        process.terminate()
        process.join()


def throwaway_certificate(directory: Path) -> tuple[tuple[bytes, bytes], str]:
    """A certificate for 127.0.0.1 from a new CA: (chain and key, PEM, for the stub), the CA's file (for clients)."""
    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    ca_file = str(directory / "ca.pem")
    authority.cert_pem.write_to_path(ca_file)
    return (b"".join(blob.bytes() for blob in issued.cert_chain_pems), issued.private_key_pem.bytes()), ca_file


def trust(ca_file: str) -> None:
    """Make the app's sender trust ``ca_file`` (the stub's CA) instead of the system's CAs."""
    import ssl

    from websockets_app import messaging
    from websockets_app.sender import Sender

    messaging._sender = Sender(ssl_context=ssl.create_default_context(cafile=ca_file))
