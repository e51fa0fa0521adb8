"""One answer over a provider's WebSocket: its socket, its timeline, its text pump.

Opening connects with a deadline (and sends the provider's init messages),
mapping every handshake failure to a SpeechError. Streaming starts the text
pump as a task and reads the provider's messages into audio until the answer
ends, with a deadline whenever audio is owed. Closing stops the pump, tells
the provider to stop when the answer did not finish, and closes the socket:
on success, error and cancellation alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
import contextlib
import json
import logging
from typing import Final

import aiohttp

from .contract import WireProtocol
from .errors import (
    SpeechConnectionError,
    SpeechError,
    SpeechProtocolError,
    SpeechTimeoutError,
    redact_error,
)
from .events import AudioChunk, JSONMessage, ProviderEvent, StreamDone
from .models import Deadlines, FlushPolicy
from .text_pump import TextPump
from .timeline import Timeline

_LOGGER = logging.getLogger(__name__)

MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
_ENDINGS: Final = frozenset(
    {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
)


def unreachable(provider: str, err: Exception) -> SpeechConnectionError:
    """Return the error for a provider that cannot be reached at all."""
    detail = str(err) or type(err).__name__
    return SpeechConnectionError(
        f"cannot reach {provider}: {detail}", provider=provider
    )


class WebSocketAnswer:
    """One synthesis on an open WebSocket, from the first text to the last audio."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        protocol: WireProtocol,
        *,
        deadlines: Deadlines,
        flush_policy: FlushPolicy,
    ) -> None:
        """Take over an open socket (see :meth:`open`)."""
        self._ws = ws
        self._protocol = protocol
        self._provider = protocol.provider
        self._deadlines = deadlines
        self._flush_policy = flush_policy
        self._timeline = Timeline(
            deadlines,
            protocol.options.audio_format,
            acks_flushes=protocol.acks_flushes,
            counts_answers=protocol.counts_answers,
        )
        self._pump: asyncio.Task[None] | None = None
        # Messages read before the answer began (see wait_idle).
        self._early: list[aiohttp.WSMessage] = []
        self._loop = asyncio.get_running_loop()
        self._opened_at = self._loop.time()

    @classmethod
    async def open(
        cls,
        session: aiohttp.ClientSession,
        protocol: WireProtocol,
        *,
        deadlines: Deadlines,
        flush_policy: FlushPolicy,
    ) -> WebSocketAnswer:
        """Connect and set the session up, mapping every failure to a SpeechError."""
        started = asyncio.get_running_loop().time()
        try:
            ws = await _connect(session, protocol, deadlines)
        except TimeoutError:
            raise SpeechTimeoutError(
                f"{protocol.provider} did not accept the connection within "
                f"{deadlines.connect:g} s",
                provider=protocol.provider,
            ) from None
        except aiohttp.WSServerHandshakeError as err:
            error = protocol.handshake_error(err.status)
            error.status = err.status
            raise redact_error(error, (protocol.api_key,)) from None
        except (aiohttp.ClientError, ConnectionError) as err:
            raise unreachable(protocol.provider, err) from None
        _LOGGER.debug(
            "%s: connected and set up in %.0f ms",
            protocol.provider,
            (asyncio.get_running_loop().time() - started) * 1000,
        )
        return cls(ws, protocol, deadlines=deadlines, flush_policy=flush_policy)

    async def stream(self, text: AsyncIterable[str]) -> AsyncGenerator[bytes]:
        """Send ``text`` as it is written; yield audio until the provider is done.

        The socket is closed when this ends, however it ends.
        """
        self._pump = asyncio.create_task(
            self._pump_text(text), name=f"{self._provider} text pump"
        )
        complete = False
        try:
            while True:
                for event in await self._next_events():
                    first = self._timeline.first_audio_at is None
                    self._timeline.heard(event)
                    if isinstance(event, AudioChunk):
                        if event.data:
                            if first:
                                self._log_first_audio()
                            yield event.data
                    elif isinstance(event, StreamDone):
                        await self._pump
                        complete = True
                        return
        finally:
            await self._stop_pump()
            if not complete:
                await self._abandon()
            await self.close()
            self._log_end(complete=complete)

    async def wait_idle(self) -> aiohttp.WSMessage:
        """Read the socket before any text; return when the connection ends.

        Reading a connection opened ahead of its text answers the server's
        pings and notices a close at once; the provider's keep-alive goes out
        at its interval, as it does between texts. What the provider says
        meanwhile (a ready message) is kept for the answer, in order.
        """
        interval = self._protocol.keepalive_interval
        while True:
            try:
                message = await self._ws.receive(timeout=interval)
            except TimeoutError:
                # Shielded: the answer may take the socket mid-send.
                await asyncio.shield(self._send_all(self._protocol.keepalive()))
                continue
            if message.type in _ENDINGS:
                return message
            self._early.append(message)

    async def _send_all(self, messages: Iterable[JSONMessage]) -> None:
        for message in messages:
            await self._ws.send_str(json.dumps(message))

    async def close(self) -> None:
        """Close the socket; aiohttp bounds the wait for the server's close frame."""
        try:
            await self._ws.close()
        except (aiohttp.ClientError, OSError) as err:  # nothing left to save
            _LOGGER.debug(
                "closing the %s connection failed: %s",
                self._provider,
                type(err).__name__,
            )

    def _log_first_audio(self) -> None:
        latency = self._timeline.observed_latency
        _LOGGER.debug(
            "%s: first audio %.0f ms after the connection (%s after its flush)",
            self._provider,
            (self._loop.time() - self._opened_at) * 1000,
            "unknown" if latency is None else f"{latency * 1000:.0f} ms",
        )

    def _log_end(self, *, complete: bool) -> None:
        timeline = self._timeline
        _LOGGER.debug(
            "%s: answer %s and closed after %.2f s: %.2f s of audio, %d requests "
            "to speak, %d answers",
            self._provider,
            "complete" if complete else "stopped",
            self._loop.time() - self._opened_at,
            timeline.clock.seconds,
            timeline.requests,
            timeline.answers,
        )

    async def _pump_text(self, text: AsyncIterable[str]) -> None:
        """Send the text as it is written; see :class:`TextPump`."""
        pump = TextPump(
            self._ws,
            self._protocol,
            self._timeline,
            self._flush_policy,
            self._deadlines.chunk_gap,
        )
        try:
            await pump.run(text)
        except TimeoutError:
            raise SpeechTimeoutError(
                f"{self._provider} did not take the text within "
                f"{self._deadlines.chunk_gap:g} s",
                provider=self._provider,
            ) from None
        except (aiohttp.ClientError, ConnectionError) as err:
            # The connection went away; the audio side will read why (an error
            # message or the close) and report that instead.
            _LOGGER.debug(
                "sending to %s failed: %s", self._provider, type(err).__name__
            )

    async def _stop_pump(self) -> None:
        pump = self._pump
        if pump is None:
            return
        if not pump.done():
            pump.cancel()
        # Its failure, if any, was already reported by the audio side.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump

    async def _next_events(self) -> Iterable[ProviderEvent]:
        timeline = self._timeline
        try:
            async with asyncio.timeout_at(timeline.wake_at) as timeline.timeout:
                message = await self._receive()
        except TimeoutError:
            quiet_end, deadline = timeline.quiet_end, timeline.deadline
            if quiet_end is not None and (deadline is None or quiet_end <= deadline):
                return (StreamDone(),)  # the last answer was followed by silence
            raise SpeechTimeoutError(
                f"{self._provider} owed audio and sent nothing for "
                f"{max(self._deadlines.first_audio, self._deadlines.chunk_gap):g} s",
                provider=self._provider,
            ) from None
        finally:
            timeline.timeout = None
        try:
            return self._read(message)
        except SpeechError as err:
            # Providers echo requests, keys included, in their error texts:
            # removed before the close (or a log line) can quote the error.
            raise redact_error(err, (self._protocol.api_key,)) from None

    def _read(self, message: aiohttp.WSMessage) -> Iterable[ProviderEvent]:
        """Turn one WebSocket message into the provider's events."""
        protocol, timeline = self._protocol, self._timeline
        if message.type is aiohttp.WSMsgType.TEXT:
            try:
                data = json.loads(message.data)
            except ValueError:
                raise SpeechProtocolError(
                    f"{self._provider} sent a message that is not JSON",
                    provider=self._provider,
                ) from None
            if not isinstance(data, dict):
                raise SpeechProtocolError(
                    f"{self._provider} sent an unexpected message",
                    provider=self._provider,
                )
            return protocol.on_text(data)
        if message.type is aiohttp.WSMsgType.BINARY:
            return protocol.on_binary(message.data)
        if timeline.all_answered and message.type in _ENDINGS:
            # Every request was answered: however it closes, nothing is missing.
            return (StreamDone(),)
        if message.type is aiohttp.WSMsgType.CLOSE:
            return protocol.on_close(finished=timeline.finished, code=int(message.data))
        # CLOSED without a close frame, or ERROR: the transport broke. Audio may
        # be missing.
        raise SpeechConnectionError(
            f"the connection to {self._provider} broke", provider=self._provider
        )

    async def _receive(self) -> aiohttp.WSMessage:
        """Read the next message, or raise the text pump's failure first.

        While text is still being sent, the pump is watched too: if it fails
        (the writer raised, a send broke) no audio will ever be asked for.
        """
        if self._early:
            return self._early.pop(0)
        pump = self._pump
        if pump is None or pump.done():
            return await self._ws.receive()
        receive = asyncio.ensure_future(self._ws.receive())
        try:
            await asyncio.wait((receive, pump), return_when=asyncio.FIRST_COMPLETED)
            if pump.done() and (failure := pump.exception()) is not None:
                raise failure
            return await receive
        finally:
            if not receive.done():
                receive.cancel()

    async def _abandon(self) -> None:
        """Tell the provider to stop, if it has a way; the socket closes anyway."""
        messages = self._protocol.abandon()
        if not messages or self._ws.closed:
            return
        try:
            async with asyncio.timeout(self._deadlines.close):
                for message in messages:
                    await self._ws.send_str(json.dumps(message))
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as err:
            _LOGGER.debug("stopping %s failed: %s", self._provider, type(err).__name__)


async def _connect(
    session: aiohttp.ClientSession, protocol: WireProtocol, deadlines: Deadlines
) -> aiohttp.ClientWebSocketResponse:
    ws: aiohttp.ClientWebSocketResponse | None = None
    try:
        async with asyncio.timeout(deadlines.connect):
            ws = await session.ws_connect(
                protocol.url(),
                headers=protocol.headers(),
                # No aiohttp heartbeat: aiohttp 3.14 re-arms its timer while
                # closing, leaving it scheduled after close(). Every wait for
                # audio has its own deadline, so a dead network is still
                # noticed as soon as anything is owed.
                max_msg_size=MAX_MESSAGE_BYTES,
                timeout=aiohttp.ClientWSTimeout(ws_close=deadlines.close),
            )
            for message in protocol.open():
                await ws.send_str(json.dumps(message))
    except BaseException:
        # Opened but not set up (the init failed, or we were cancelled).
        if ws is not None:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                await ws.close()
        raise
    return ws
