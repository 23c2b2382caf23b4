"""One keep-alive HTTP/1.1 connection on asyncio streams: the load generator's client.

The latency rules measure the service, so the client must cost far less than the service.
An httpx request costs the calling process about a millisecond of CPU; on a two-core
machine that shares its cores with the service, the client's own queueing then shows up
as latency (p99 above 100 ms against a service whose p99 under wrk is 15 ms). This client
writes one pre-built request and parses one response per call: a few tens of
microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from urllib.parse import urlsplit


class ProtocolError(Exception):
    """The server's answer is not an HTTP/1.1 response this client can read."""


class KeepAliveConnection:
    """Sends POSTs of one body (or of several in turn) to one URL over one reused connection.

    Reconnects when the server closes the connection (or asks to); not safe to share
    between concurrent tasks: give each worker its own.

    Args:
        url: The http(s) URL to POST to.
        body: The body, or several bodies sent one after the other, round and round.
        content_type: The Content-Type header.
        start: The index of the first body to send (workers start at different ones).
    """

    def __init__(
        self,
        url: str,
        body: bytes | Sequence[bytes],
        content_type: str = "application/json",
        start: int = 0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname is None:
            raise ValueError(f"not an http(s) URL: {url!r}")
        bodies = [body] if isinstance(body, bytes) else list(body)
        if not bodies:
            raise ValueError("no body to send")
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        self._requests = [
            (
                f"POST {target} HTTP/1.1\r\nHost: {host_header}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(content)}\r\n"
                "Connection: keep-alive\r\n\r\n"
            ).encode("latin-1")
            + content
            for content in bodies
        ]
        self._next = start % len(self._requests)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self) -> int:
        """Send the request; the response's status code (its body is read and dropped).

        Raises:
            OSError: the connection failed.
            ProtocolError: the response could not be read.
        """
        if self._writer is None:
            context = ssl.create_default_context() if self._tls else None
            self._reader, self._writer = await asyncio.open_connection(
                self._host, self._port, ssl=context
            )
        assert self._reader is not None  # set together with the writer
        request = self._requests[self._next]
        self._next = (self._next + 1) % len(self._requests)
        try:
            self._writer.write(request)
            status, keep_alive = await self._read_response(self._reader)
        except (OSError, ProtocolError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            if isinstance(exc, OSError | ProtocolError):
                raise
            raise ProtocolError(str(exc) or type(exc).__name__) from exc
        if not keep_alive:
            await self.close()
        return status

    @staticmethod
    async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
        line = await reader.readline()
        fields = line.split(None, 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"not an HTTP/1.x status line: {line[:80]!r}")
        status = int(fields[1])
        keep_alive = fields[0] == b"HTTP/1.1"
        length: int | None = None
        chunked = False
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b"\n"):
                break
            if not header:
                raise ProtocolError("connection closed inside the response headers")
            name, _, value = header.partition(b":")
            name = name.strip().lower()
            value = value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                keep_alive = value != b"close"
        if chunked:
            while True:
                size = int((await reader.readline()).split(b";", 1)[0], 16)
                await reader.readexactly(size + 2)  # the chunk and its CRLF
                if size == 0:
                    break
        elif length is not None:
            await reader.readexactly(length)
        else:  # no length: the body ends with the connection
            await reader.read()
            keep_alive = False
        return status, keep_alive

    async def close(self) -> None:
        """Close the connection (the next `post` opens a new one)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
