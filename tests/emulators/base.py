"""A provider-neutral loopback HTTP + WebSocket server for provider emulators."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
import contextlib
from dataclasses import dataclass, field
import json
import logging
from types import TracebackType
from typing import Any, ClassVar, Final, Protocol, Self, cast

from aiohttp import WSCloseCode, web

_LOGGER = logging.getLogger(__name__)

REDACTED = "REDACTED"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class EmulatorConfig:
    """Behaviour every provider emulator shares; tests may change it at any time.

    A WebSocket session works on a copy taken when it connects, so a change
    applies from the next session on. HTTP requests read it live.
    """

    # Accepted API keys; None accepts any non-empty key.
    api_keys: set[str] | None = field(default_factory=lambda: {"test-key"})
    # Seconds waited before every HTTP response and WebSocket upgrade; it
    # stands in for TCP + TLS set-up over the internet.
    handshake_delay: float = 0.0
    # Real-time factor of audio delivery; 0 sends as fast as possible.
    speed: float = 0.0
    # Waited each time the server starts speaking a segment, before its audio.
    first_audio_latency: float = 0.0
    # Seconds of audio per audio message.
    chunk_seconds: float = 0.1
    # Fault switches, counted in audio messages of one session: send the
    # provider's internal error and close / go silent but stay connected /
    # drop the TCP connection without a close frame.
    error_after_chunks: int | None = None
    stall_after_chunks: int | None = None
    drop_after_chunks: int | None = None
    # Quote the received API key in every error message (WebSocket error
    # frames, SSE error events, REST error bodies), as some services do.
    echo_key: bool = False
    # Refuse every WebSocket upgrade with this HTTP status (429: a rate limit).
    refuse_upgrades_with: int | None = None
    # Answer every plain HTTP call (REST, and Smallest.ai's SSE) with this
    # status and the provider's error body.
    rest_status_override: int | None = None

    def key_ok(self, key: object) -> bool:
        """Return whether `key` is accepted."""
        if not isinstance(key, str) or not key:
            return False
        return self.api_keys is None or key in self.api_keys

    def echoed(self, message: str, key: object) -> str:
        """Return an error message, quoting ``key`` when `echo_key` asks for it."""
        if self.echo_key and isinstance(key, str) and key:
            return f"{message} (request signed {key})"
        return message


def request_key(request: web.Request) -> str:
    """Return the API key an HTTP request or WebSocket upgrade carried, if any."""
    for name in ("Authorization", "X-API-Key", "api-subscription-key"):
        if value := request.headers.get(name, ""):
            return value.removeprefix("Bearer ").strip()
    return ""


def _echo_in(body: object, key: str, config: EmulatorConfig) -> object:
    """Quote the key in every message-like string of a JSON error body."""
    if isinstance(body, dict):
        return {
            name: config.echoed(value, key)
            if isinstance(value, str) and name in _MESSAGE_KEYS
            else _echo_in(value, key, config)
            for name, value in body.items()
        }
    if isinstance(body, list):
        return [_echo_in(item, key, config) for item in body]
    return body


_MESSAGE_KEYS: Final = frozenset({"message", "error", "detail", "title"})


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request (WebSocket upgrades included) as the emulator saw it."""

    method: str
    path: str
    query: dict[str, str]
    query_string: str
    headers: dict[str, str]  # lower-case names; secret values replaced by REDACTED
    websocket: bool


class Recorded(Protocol):
    """What every emulator's record of a WebSocket session has."""

    ended: asyncio.Event


class EmulatorServer[ConfigT: EmulatorConfig, RecordT: Recorded = Any]:
    """Serve a provider's REST, WebSocket and streaming endpoints on loopback.

    Subclasses add their routes in `setup_routes` and run WebSocket sessions
    inside `websocket()`, which counts open connections and lets `stop()`
    close them, and record each session with `recording()`.
    """

    #: The configuration a server gets when it is given none.
    config_type: ClassVar[type[EmulatorConfig]] = EmulatorConfig

    # Header values never kept in the request log.
    SECRET_HEADERS: ClassVar[frozenset[str]] = frozenset(
        {
            "authorization",
            "proxy-authorization",
            "x-api-key",
            "api-subscription-key",
            "cookie",
        }
    )

    def __init__(
        self,
        config: ConfigT | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        handshake_delay: float | None = None,
    ) -> None:
        """Prepare the server; nothing listens until `start()`."""
        self.config: ConfigT = (
            config if config is not None else cast("ConfigT", self.config_type())
        )
        self.sessions: list[RecordT] = []
        self.sessions_started = 0
        self._session_added = asyncio.Event()
        self.host = host
        self.port = port
        if handshake_delay is not None:
            config.handshake_delay = handshake_delay
        self.requests: list[RecordedRequest] = []
        self.app = web.Application(middlewares=[self._middleware])
        self._runner: web.AppRunner | None = None
        self._websockets: set[web.WebSocketResponse] = set()
        self._ws_tasks: set[asyncio.Task[object]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.setup_routes(self.app)

    @classmethod
    def from_cli(
        cls,
        *,
        host: str,
        port: int,
        api_key: str,
        speed: float,
        first_audio_latency: float,
        handshake_delay: float,
    ) -> Self:
        """Build the emulator the command line (``python -m tests.emulators``) asks for."""
        config = cls.config_type(
            api_keys={api_key}, speed=speed, first_audio_latency=first_audio_latency
        )
        return cls(
            cast("ConfigT", config),
            host=host,
            port=port,
            handshake_delay=handshake_delay,
        )

    def setup_routes(self, app: web.Application) -> None:
        """Add the provider's routes to `app`."""

    async def wait_for_session(self, index: int = 0) -> RecordT:
        """Wait until session number `index` (0-based) has connected."""
        while len(self.sessions) <= index:
            self._session_added.clear()
            await self._session_added.wait()
        return self.sessions[index]

    @contextlib.asynccontextmanager
    async def recording(self, record: RecordT) -> AsyncIterator[RecordT]:
        """Keep `record` as the next session; mark it ended when the block ends."""
        self.sessions.append(record)
        self.sessions_started += 1
        self._session_added.set()
        try:
            yield record
        finally:
            record.ended.set()

    @property
    def base_url(self) -> str:
        """Return the HTTP base URL, e.g. ``http://127.0.0.1:8901``."""
        if self._runner is None:
            raise RuntimeError("emulator is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def ws_base_url(self) -> str:
        """Return the WebSocket base URL, e.g. ``ws://127.0.0.1:8901``."""
        return "ws" + self.base_url.removeprefix("http")

    @property
    def handshake_delay(self) -> float:
        """Return the delay before every HTTP response and WebSocket upgrade."""
        return self.config.handshake_delay

    @handshake_delay.setter
    def handshake_delay(self, seconds: float) -> None:
        self.config.handshake_delay = seconds

    @property
    def open_connections(self) -> int:
        """Return how many WebSocket connections are open right now."""
        return len(self._websockets)

    async def wait_closed(self) -> None:
        """Wait until no WebSocket connection is open."""
        await self._idle.wait()

    async def start(self) -> None:
        """Start listening; with port 0 the chosen port is stored in `port`."""
        if self._runner is not None:
            return
        # Handlers are cancelled by stop() itself, so the runner's grace period
        # only matters for plain HTTP requests still in progress.
        runner = web.AppRunner(self.app, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Close every WebSocket, cancel their handlers and stop listening."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        closing = [
            asyncio.create_task(self._close_quietly(ws))
            for ws in list(self._websockets)
        ]
        if closing:
            await asyncio.wait(closing)
        tasks = [task for task in self._ws_tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await runner.cleanup()

    async def close_connections(self) -> None:
        """Close every open WebSocket, as a server does with one left idle too long."""
        closing = [
            asyncio.create_task(self._close_quietly(ws))
            for ws in list(self._websockets)
        ]
        if closing:
            await asyncio.wait(closing)

    @staticmethod
    async def _close_quietly(ws: web.WebSocketResponse) -> None:
        # A client that never answers the close frame must not hold up stop().
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    async def __aenter__(self) -> Self:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    @contextlib.asynccontextmanager
    async def websocket(
        self, request: web.Request, *, protocols: Iterable[str] = ()
    ) -> AsyncIterator[web.WebSocketResponse]:
        """Upgrade `request` and track the connection until the block ends.

        PING frames are answered automatically while the socket is being read.
        """
        # timeout bounds the wait for the client's answer to our close frame.
        ws = web.WebSocketResponse(protocols=protocols, autoping=True, timeout=2.0)
        await ws.prepare(request)
        task = asyncio.current_task()
        if task is not None:
            self._ws_tasks.add(task)
        self._websockets.add(ws)
        self._idle.clear()
        try:
            yield ws
        finally:
            self._websockets.discard(ws)
            if task is not None:
                self._ws_tasks.discard(task)
            if not self._websockets:
                self._idle.set()

    def _record(self, request: web.Request) -> None:
        headers = {
            name.lower(): REDACTED if name.lower() in self.SECRET_HEADERS else value
            for name, value in request.headers.items()
        }
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                query_string=request.query_string,
                headers=headers,
                websocket=headers.get("upgrade", "").lower() == "websocket",
            )
        )

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        self._record(request)
        _LOGGER.debug("%s %s", request.method, request.path_qs)
        if self.handshake_delay > 0:
            await asyncio.sleep(self.handshake_delay)
        if (status := self.config.refuse_upgrades_with) is not None and (
            request.headers.get("Upgrade", "").lower() == "websocket"
        ):
            response: web.StreamResponse = web.json_response(
                {"error": {"message": f"emulated HTTP {status}"}}, status=status
            )
        else:
            response = await handler(request)
        if (
            self.config.echo_key
            and response.status >= 400
            and isinstance(response, web.Response)
            and response.content_type == "application/json"
            and isinstance(response.body, bytes)
        ):
            body = _echo_in(
                json.loads(response.body), request_key(request), self.config
            )
            response.body = json.dumps(body).encode()
        return response
