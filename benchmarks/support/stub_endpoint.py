"""A stub ``@connections`` endpoint in its own process: keep-alive HTTP/1.1, an empty 200 after a fixed latency.

API Gateway answers a post from inside its region after a few milliseconds; the stub does the same so that sending
is measured with requests in flight, not against an instant local answer. Its own CPU is not the sender's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.support import http_answer, serve_forever, serving_process


def _serve(latency: float, certificate: str | None, port_sink: Any) -> None:
    async def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        await asyncio.sleep(latency)
        return http_answer("200 OK")

    serve_forever(answer, port_sink, certificate=certificate)


@contextmanager
def stub_endpoint(latency_ms: float, stage: str, certificate: str | None = None) -> Iterator[str]:
    """Start the stub; yields its endpoint URL (``http://127.0.0.1:PORT/<stage>``) and stops it afterwards.

    With ``certificate`` (a PEM file of its key and certificate chain) it answers over TLS, as API Gateway does, at
    ``https://``."""
    with serving_process(_serve, latency_ms / 1000, certificate) as port:
        yield f"{'https' if certificate else 'http'}://127.0.0.1:{port}/{stage}"


def throwaway_certificate(directory: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 from a new CA, written to ``directory``: the file of its key and chain (for the
    stub) and the CA's file (for clients)."""
    import trustme

    authority = trustme.CA()
    certificate, ca_file = str(directory / "stub.pem"), str(directory / "ca.pem")
    authority.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(certificate)
    authority.cert_pem.write_to_path(ca_file)
    return certificate, ca_file


def trust(ca_file: str) -> None:
    """Make the app's sender, and botocore, trust ``ca_file`` (the stub's CA): ``AWS_CA_BUNDLE``, as a user would."""
    import os

    os.environ["AWS_CA_BUNDLE"] = ca_file
