"""uvicorn's httptools protocol, writing each response in one piece.

uvicorn writes a response's status line and headers when the app sends ``http.response.start``
and the body when it sends ``http.response.body``: two writes, so two ``send`` system calls and
two TCP segments for every response, and a client that reads twice. On loopback a send costs
about as much system time as the Python of a small response. Here the writes a connection makes
in one turn of the event loop go out together at the end of that turn: a response sent at once
(every JSON response) leaves in one segment; a streamed one still leaves chunk by chunk, each as
soon as the app waits for anything.
"""

import asyncio
from typing import Any

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # uvicorn without httptools: serve with its default protocol
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


class _Coalescing(asyncio.Transport):
    """A transport whose writes in one turn of the loop are sent as one write; everything else
    is the real transport's."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if self._transport.is_closing():
            return  # as the transport's own write does once closing: nothing is sent
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    # The rest is the real transport's.
    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()


if HttpToolsProtocol is not None:

    class Protocol(HttpToolsProtocol):
        """uvicorn's ``httptools`` protocol on a :class:`_Coalescing` transport."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            coalescing = _Coalescing(transport, self.loop)
            self.transport = coalescing  # type: ignore[assignment]
            # Flow control pauses and resumes reading on the real transport; it only reads
            # the write buffer's state, which the real transport reports.

else:
    Protocol = None  # type: ignore[assignment,misc]


def http_protocol() -> Any:
    """What to give uvicorn as ``http``: this module's protocol, or ``"auto"``."""
    return Protocol if Protocol is not None else "auto"
