"""A local stand-in for AWS Lambda's asynchronous invocations: each one runs in a container process of its own.

Zappa's ``@task`` invokes the running function with ``InvocationType="Event"`` through boto3's Lambda client; with
``AWS_ENDPOINT_URL_LAMBDA`` pointing here, that call lands on this service instead of AWS. Each invocation is handed
to an idle container (a process that imported the project's ``lambda_handler`` once, as a warm Lambda environment
has) or to a new one, so invocations run at once, in separate processes, as on Lambda. As Lambda does
("Asynchronous invocation": an invocation that returns an error is retried twice, after a delay), a failed
invocation is retried up to twice, after ``retry_delays``; an invocation past ``timeout_seconds`` is killed with
its container and counts as failed. ``GET /__stats`` lists every invocation with its outcome.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.support import fetch_stats, http_answer, serve_forever, serving_process

ROOT = Path(__file__).resolve().parents[2]
RESULT_MARK = "@@INVOCATION-RESULT@@ "
# What Lambda puts in every function's environment (the credentials are made up: nothing here reaches AWS).
AWS_ENVIRONMENT = {
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    # The demo's settings insist on a key of the function's own on Lambda.
    "SECRET_KEY": "bench-only-secret-key",
}


@dataclass
class Invocation:
    request_id: str
    payload: str
    attempt: int = 1
    started: float | None = None
    ended: float | None = None
    ok: bool | None = None
    error: str = ""
    container: int | None = None


@dataclass
class _Container:
    process: asyncio.subprocess.Process
    busy: bool = False


@dataclass
class _Service:
    env: dict[str, str]
    timeout_seconds: float
    retry_delays: tuple[float, ...]
    max_containers: int
    discard: bool = False
    containers: list[_Container] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    pending: int = 0
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def invoke(self, payload: str) -> None:
        invocation = Invocation(request_id=f"req-{next(self.ids)}", payload=payload)
        if self.discard:  # only the caller is measured: what it invokes is recorded, never run
            self.invocations.append(invocation)
            return
        self.pending += 1
        try:
            for attempt in range(1, 2 + len(self.retry_delays)):
                record = Invocation(invocation.request_id, payload, attempt)
                self.invocations.append(record)
                await self._run(record)
                if record.ok:
                    return
                if attempt <= len(self.retry_delays):
                    await asyncio.sleep(self.retry_delays[attempt - 1])
        finally:
            self.pending -= 1

    async def _run(self, record: Invocation) -> None:
        container = await self._idle_container()
        container.busy = True
        record.started, record.container = time.time(), container.process.pid
        stdin, stdout = container.process.stdin, container.process.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("a container is started with pipes")
        message = {"event": json.loads(record.payload), "timeout_ms": int(self.timeout_seconds * 1000)}
        stdin.write(json.dumps(message).encode() + b"\n")
        try:
            await stdin.drain()
            result = await asyncio.wait_for(self._result(stdout), self.timeout_seconds + 1)
        except Exception as error:  # a timeout, a container that died: the invocation failed, as on Lambda
            result = {"ok": False, "error": f"Task timed out or its container died: {type(error).__name__}: {error}"}
            if container.process.returncode is None:
                container.process.kill()
            await container.process.wait()
            self.containers.remove(container)
        record.ended, record.ok, record.error = time.time(), result["ok"], result.get("error", "")
        container.busy = False

    async def _result(self, stdout: asyncio.StreamReader) -> dict[str, Any]:
        while True:
            line = await stdout.readline()
            if not line:
                raise EOFError
            text = line.decode("utf-8", "replace")
            if text.startswith(RESULT_MARK):
                result: dict[str, Any] = json.loads(text[len(RESULT_MARK) :])
                return result

    async def _idle_container(self) -> _Container:
        while True:
            for container in self.containers:
                if not container.busy and container.process.returncode is None:
                    return container
            if len(self.containers) < self.max_containers:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "benchmarks.support.lambda_container",
                    cwd=ROOT,
                    env=self.env,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=64 * 1024 * 1024,  # a batch's outcome is one line, thousands of ids long
                )
                container = _Container(process)
                self.containers.append(container)
                return container
            await asyncio.sleep(0.01)

    def stats(self) -> bytes:
        return json.dumps(
            {
                "pending": self.pending,
                "containers": len(self.containers),
                "invocations": [{**asdict(i), "payload": len(i.payload)} for i in self.invocations],
            }
        ).encode()


def _serve(
    env: dict[str, str],
    timeout_seconds: float,
    retry_delays: tuple[float, ...],
    cap: int,
    discard: bool,
    port_sink: Any,
) -> None:
    service = _Service(env, timeout_seconds, retry_delays, cap, discard)
    running: set[asyncio.Task[None]] = set()

    async def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        if method == "GET" and path == "/__stats":
            return http_answer("200 OK", service.stats())
        if method != "POST" or not path.endswith("/invocations"):
            return http_answer("404 Not Found", b'{"message":"Not Found"}')
        if headers.get("x-amz-invocation-type") != "Event":
            return http_answer("400 Bad Request", b'{"message":"only Event invocations here"}')
        task = asyncio.create_task(service.invoke(body.decode()))
        running.add(task)
        task.add_done_callback(running.discard)
        return http_answer("202 Accepted")

    def on_port(port: int) -> None:
        # What the containers invoke (a batch's continuation) lands here too.
        env["AWS_ENDPOINT_URL_LAMBDA"] = f"http://127.0.0.1:{port}"

    serve_forever(answer, port_sink, on_port=on_port)


@contextmanager
def lambda_service(
    env: dict[str, str],
    *,
    timeout_seconds: float = 30,
    retry_delays: tuple[float, ...] = (1.0, 2.0),
    max_containers: int = 50,
    discard: bool = False,
) -> Iterator[str]:
    """Start the service; yields its endpoint, for ``AWS_ENDPOINT_URL_LAMBDA``. Containers run with ``env``; with
    ``discard``, invocations are only recorded."""
    with serving_process(_serve, env, timeout_seconds, retry_delays, max_containers, discard) as port:
        yield f"http://127.0.0.1:{port}"


def service_stats(endpoint: str) -> dict[str, Any]:
    return fetch_stats(endpoint)


def wait_until_idle(endpoint: str, *, quiet_seconds: float = 1.0, limit_seconds: float = 600) -> dict[str, Any]:
    """Wait until no invocation is pending (none queued, running or waiting for a retry) for ``quiet_seconds``."""
    deadline = time.monotonic() + limit_seconds
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        stats = service_stats(endpoint)
        if stats["pending"] == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_seconds:
                return stats
        else:
            quiet_since = None
        time.sleep(0.1)
    raise SystemExit("benchmark set-up failed: asynchronous invocations still running after the time limit")


def warm(event: dict[str, Any], context: Any) -> str:
    """A Zappa ``command`` that holds its container a moment: invoked N times at once, it leaves N warm ones."""
    time.sleep(0.5)
    return "warm"


def warm_up(count: int) -> None:
    """Start ``count`` containers before a measurement, as a busy function has them already."""
    import boto3

    client = boto3.session.Session().client("lambda")
    for _ in range(count):
        client.invoke(
            FunctionName=os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            InvocationType="Event",
            Payload=json.dumps({"command": "benchmarks.support.lambda_service.warm"}),
        )


def container_env(**extra: str) -> dict[str, str]:
    """The environment of a container: this one's, as Lambda's would be for the function, plus ``extra``."""
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("AWS_LAMBDA_FUNCTION_NAME", "django-lambda-websockets-dev")
    for name, value in AWS_ENVIRONMENT.items():
        env.setdefault(name, value)
    return env
