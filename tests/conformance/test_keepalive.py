"""The load generator's HTTP/1.1 client against a scripted server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from modelrail_conformance.keepalive import KeepAliveConnection, ProtocolError

BODY = b'{"inputs": []}'
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
CHUNKED = (
    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n'
)
CLOSE = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"

Responder = Callable[[int], bytes]


@asynccontextmanager
async def server(respond: Responder) -> AsyncIterator[tuple[str, list[bytes], list[int]]]:
    """Answers the n-th request (counted over all connections) with ``respond(n)``; yields
    the URL, the raw requests received and the number of requests per connection."""
    requests: list[bytes] = []
    per_connection: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        per_connection.append(0)
        index = len(per_connection) - 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                requests.append(head + await reader.readexactly(length))
                per_connection[index] += 1
                writer.write(respond(len(requests)))
                await writer.drain()
                if b"Connection: close" in respond(len(requests)):
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield f"http://127.0.0.1:{port}/v2/models/m/infer", requests, per_connection


def test_requests_reuse_one_connection_and_carry_the_body() -> None:
    async def scenario() -> tuple[list[int], list[bytes], list[int]]:
        async with server(lambda _: OK) as (url, requests, per_connection):
            connection = KeepAliveConnection(url, BODY)
            statuses = [await connection.post() for _ in range(5)]
            await connection.close()
            return statuses, requests, per_connection

    statuses, requests, per_connection = asyncio.run(scenario())
    assert statuses == [200] * 5
    assert per_connection == [5]
    first = requests[0]
    assert first.startswith(b"POST /v2/models/m/infer HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Content-Type: application/json\r\n" in first
    assert first.endswith(b"\r\n\r\n" + BODY)


def test_several_bodies_are_sent_in_turn_from_the_start_index() -> None:
    bodies = [b'{"i": 0}', b'{"i": 1}', b'{"i": 22}']

    async def scenario() -> list[bytes]:
        async with server(lambda _: OK) as (url, requests, _):
            connection = KeepAliveConnection(url, bodies, start=2)
            for _ in range(4):
                await connection.post()
            await connection.close()
            return requests

    requests = asyncio.run(scenario())
    sent = [request.split(b"\r\n\r\n", 1)[1] for request in requests]
    assert sent == [bodies[2], bodies[0], bodies[1], bodies[2]]
    assert b"Content-Length: 9\r\n" in requests[0]
    assert b"Content-Length: 8\r\n" in requests[1]


def test_no_body_is_refused() -> None:
    with pytest.raises(ValueError, match="no body"):
        KeepAliveConnection("http://127.0.0.1:1/", [])


def test_chunked_bodies_are_read_and_connection_close_reconnects() -> None:
    answers = {1: CHUNKED, 2: CLOSE, 3: OK}

    async def scenario() -> tuple[list[int], list[int]]:
        async with server(lambda n: answers[n]) as (url, _, per_connection):
            connection = KeepAliveConnection(url, BODY)
            statuses = [await connection.post() for _ in range(3)]
            await connection.close()
            return statuses, per_connection

    statuses, per_connection = asyncio.run(scenario())
    assert statuses == [201, 503, 200]
    assert per_connection == [2, 1]


def test_a_garbled_answer_is_a_protocol_error_and_the_next_post_reconnects() -> None:
    answers = {1: b"SSH-2.0-OpenSSH\r\n\r\n", 2: OK}

    async def scenario() -> tuple[int, list[int]]:
        async with server(lambda n: answers[n]) as (url, _, per_connection):
            connection = KeepAliveConnection(url, BODY)
            with pytest.raises(ProtocolError, match=r"not an HTTP/1\.x status line"):
                await connection.post()
            status = await connection.post()
            await connection.close()
            return status, per_connection

    status, per_connection = asyncio.run(scenario())
    assert status == 200
    assert per_connection == [1, 1]


def test_a_refused_connection_raises_os_error() -> None:
    async def scenario() -> None:
        srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        srv.close()
        await srv.wait_closed()
        await KeepAliveConnection(f"http://127.0.0.1:{port}/", BODY).post()

    with pytest.raises(ConnectionRefusedError):
        asyncio.run(scenario())


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "127.0.0.1:8080/x", "http:///x"])
def test_only_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        KeepAliveConnection(url, BODY)
