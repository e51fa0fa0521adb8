"""Streaming synthesis over HTTP (server-sent events), for when a WebSocket cannot open.

One POST speaks one segment of text and streams its audio back as events.
The text is still consumed as it is written: each sentence is posted as soon
as it is complete, and its audio is yielded while it arrives, so the listener
hears the first sentence while the writer is on the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Callable
import contextlib
import json
import logging
from typing import Any, Final

import aiohttp

from .contract import HttpStreamProtocol
from .errors import (
    SpeechConnectionError,
    SpeechError,
    SpeechNoTextError,
    SpeechProtocolError,
    SpeechTimeoutError,
    error_detail,
)
from .events import AudioChunk, JSONMessage, StreamDone
from .models import Deadlines
from .text import text_fragments

_LOGGER = logging.getLogger(__name__)

# A sentence longer than this is posted in parts, at word boundaries.
MAX_SEGMENT_CHARS: Final = 400


async def stream_over_http(
    session: aiohttp.ClientSession,
    protocol: HttpStreamProtocol,
    text: AsyncIterable[str],
    *,
    deadlines: Deadlines,
    redact: Callable[[str], str],
) -> AsyncGenerator[bytes]:
    """Speak ``text`` sentence by sentence as it is written; yield audio as it comes."""
    spoken = False
    limit = min(MAX_SEGMENT_CHARS, protocol.max_text_chars or MAX_SEGMENT_CHARS)
    async with contextlib.aclosing(_segments(text, limit)) as segments:
        async for segment in segments:
            spoken = True
            async with contextlib.aclosing(
                _speak(session, protocol, segment, deadlines, redact)
            ) as audio:
                async for chunk in audio:
                    yield chunk
    if not spoken:
        raise SpeechNoTextError(
            "there is no text to speak (empty, or only markup and emoji)",
            provider=protocol.provider,
        )


async def _segments(text: AsyncIterable[str], limit: int) -> AsyncGenerator[str]:
    """Yield each sentence once it is complete (long ones in parts of ``limit``)."""
    segment = ""
    async with contextlib.aclosing(text_fragments(text, max_chars=limit)) as fragments:
        async for fragment in fragments:
            if segment and len(segment) + len(fragment.text) > limit:
                yield segment
                segment = ""
            segment += fragment.text
            if fragment.sentence_end:
                yield segment
                segment = ""
    # A trailing "..." alone has nothing to say: it would be a request of its own.
    if any(char.isalnum() for char in segment):
        yield segment


async def _speak(
    session: aiohttp.ClientSession,
    protocol: HttpStreamProtocol,
    text: str,
    deadlines: Deadlines,
    redact: Callable[[str], str],
) -> AsyncGenerator[bytes]:
    """POST one segment and yield its audio until the provider says it is done."""
    request = protocol.request(text.strip())
    name = protocol.provider
    try:
        async with asyncio.timeout(deadlines.connect):
            response = await session.post(
                request.url, headers=request.headers, json=request.body
            )
    except TimeoutError:
        raise SpeechTimeoutError(
            f"{name} did not answer within {deadlines.connect:g} s", provider=name
        ) from None
    except aiohttp.ClientError as err:
        detail = redact(str(err)) or type(err).__name__
        raise SpeechConnectionError(
            f"cannot reach {name}: {detail}", provider=name
        ) from None
    async with response:
        if response.status >= 400:
            async with asyncio.timeout(deadlines.chunk_gap):
                body = await response.text()
            raise protocol.error(response.status, redact(error_detail(body)))
        wait = deadlines.first_audio
        async with contextlib.aclosing(
            _events(response.content, name, lambda: wait)
        ) as events:
            async for data in events:
                try:
                    read = protocol.on_event(data)
                except SpeechError as err:
                    # Providers echo requests, keys included, in their errors.
                    err.message = redact(err.message)
                    err.args = (err.message,)
                    raise
                for event in read:
                    if isinstance(event, StreamDone):
                        return
                    if isinstance(event, AudioChunk) and event.data:
                        wait = deadlines.chunk_gap
                        yield event.data
    raise SpeechConnectionError(
        f"{name} ended the stream before the speech was complete", provider=name
    )


async def _events(
    content: aiohttp.StreamReader, provider: str, wait: Callable[[], float]
) -> AsyncGenerator[JSONMessage]:
    """Yield the JSON data of each server-sent event; ``wait()`` bounds each read."""
    data: list[str] = []
    while True:
        try:
            async with asyncio.timeout(wait()):
                raw = await content.readline()
        except TimeoutError:
            raise SpeechTimeoutError(
                f"{provider} owed audio and sent nothing for {wait():g} s",
                provider=provider,
            ) from None
        except aiohttp.ClientError:
            raise SpeechConnectionError(
                f"the connection to {provider} broke", provider=provider
            ) from None
        if not raw:
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            yield _parse(provider, "\n".join(data))
            data = []
        # "event:", "id:", "retry:" and ":" comments carry nothing we need.


def _parse(provider: str, data: str) -> JSONMessage:
    try:
        message: Any = json.loads(data)
    except ValueError:
        raise SpeechProtocolError(
            f"{provider} sent an event that is not JSON", provider=provider
        ) from None
    if not isinstance(message, dict):
        raise SpeechProtocolError(
            f"{provider} sent an unexpected event", provider=provider
        )
    _LOGGER.debug("%s event with keys %s", provider, sorted(message))
    return message
