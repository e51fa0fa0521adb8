"""Streaming over server-sent events: segments, event parsing, deadlines, failures."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncGenerator, Awaitable, Callable
import contextlib
import json

import aiohttp
from aiohttp import web
import pytest

from custom_components.streaming_tts.speech import (
    Deadlines,
    SpeechConnectionError,
    SpeechNoTextError,
    SpeechProtocolError,
    SpeechRequestError,
    SpeechTimeoutError,
)
from custom_components.streaming_tts.speech.contract import (
    HttpRequest,
    HttpStreamProtocol,
)
from custom_components.streaming_tts.speech.events import (
    AudioChunk,
    JSONMessage,
    ProviderEvent,
    StreamDone,
    audio_from_base64,
)
from custom_components.streaming_tts.speech.http_stream import stream_over_http

pytestmark = pytest.mark.usefixtures("socket_enabled")

FAST = Deadlines(connect=1.0, first_audio=0.5, chunk_gap=0.5, close=0.5)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Echo(HttpStreamProtocol):
    """Audio is the text's bytes; the end is {"done": true}."""

    provider = "Echo"
    max_text_chars = 40

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, text: str) -> HttpRequest:
        return HttpRequest(self.url, {"Authorization": "Bearer secret"}, {"text": text})

    def on_event(self, data: JSONMessage) -> list[ProviderEvent]:
        events: list[ProviderEvent] = []
        if "audio" in data:
            events.append(audio_from_base64(self.provider, data["audio"]))
        if data.get("done"):
            events.append(StreamDone())
        return events


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncGenerator[str]:
    app = web.Application()
    app.router.add_post("/speak", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/speak"
    finally:
        await runner.cleanup()


async def sse(
    request: web.Request, *events: str, pause: float = 0.0
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for event in events:
        await asyncio.sleep(pause)
        await response.write(event.encode())
    return response


def audio_event(text: str) -> str:
    return f"event: audio\ndata: {json.dumps({'audio': base64.b64encode(text.encode()).decode()})}\n\n"


async def speak(url: str, *parts: str) -> bytes:
    async def text() -> AsyncGenerator[str]:
        for part in parts:
            yield part

    async with aiohttp.ClientSession() as session:
        chunks = [
            chunk
            async for chunk in stream_over_http(
                session,
                Echo(url),
                text(),
                deadlines=FAST,
                redact=lambda s: s.replace("secret", "***"),
            )
        ]
    return b"".join(chunks)


async def test_sentences_and_long_text_become_segments() -> None:
    bodies: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        text = (await request.json())["text"]
        bodies.append(text)
        # A comment line and a multi-line data field are part of the format.
        return await sse(
            request,
            ": keep-alive\n\n",
            audio_event(text),
            'data: {"done":\ndata: true}\n\n',
        )

    async with serve(handler) as url:
        audio = await speak(url, "Hello the", "re. ", "word " * 20)
    assert bodies[0] == "Hello there."
    assert all(len(body) <= 40 for body in bodies)
    assert audio.decode().replace(" ", "") == ("Hellothere." + "word" * 20)


async def test_nothing_to_speak_posts_nothing() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise AssertionError("no request expected")

    async with serve(handler) as url:
        with pytest.raises(SpeechNoTextError):
            await speak(url, "  ", "🙂")


@pytest.mark.parametrize(
    ("events", "error", "match"),
    [
        ((audio_event("a"),), SpeechConnectionError, "before the speech was complete"),
        (("data: not json\n\n",), SpeechProtocolError, "not JSON"),
        (("data: [1]\n\n",), SpeechProtocolError, "unexpected event"),
        (('data: {"audio": 5}\n\n',), SpeechProtocolError, "not base64"),
        (('data: {"audio": "%%%"}\n\n',), SpeechProtocolError, "not valid base64"),
    ],
)
async def test_broken_streams(events: tuple[str, ...], error: type, match: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, *events)

    async with serve(handler) as url:
        with pytest.raises(error, match=match):
            await speak(url, "Hello.")


async def test_silence_hits_the_deadline() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(
            request, audio_event("a"), 'data: {"done": true}\n\n', pause=2.0
        )

    async with serve(handler) as url:
        with pytest.raises(SpeechTimeoutError, match="sent nothing"):
            await speak(url, "Hello.")


async def test_refusal_and_unreachable() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "bad text for key secret"}, status=400)

    async with serve(handler) as url:
        with pytest.raises(
            SpeechRequestError, match=r"HTTP 400: bad text for key \*\*\*"
        ):
            await speak(url, "Hello.")
    with pytest.raises(SpeechConnectionError, match="cannot reach Echo"):
        await speak("http://127.0.0.1:9/speak", "Hello.")


async def test_slow_answer_hits_the_connect_deadline() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3)
        return web.Response()

    async with serve(handler) as url:
        with pytest.raises(SpeechTimeoutError, match="did not answer"):
            await speak(url, "Hello.")


def test_audio_none_is_no_audio() -> None:
    assert audio_from_base64("P", None) == AudioChunk(b"")
