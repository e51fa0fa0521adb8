"""The Smallest.ai emulator against the official SDK (smallestai 5.14.0) and on the raw wire.

The SDK runs in its own interpreter; see tests/sdk/helpers.py.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.emulators import synth
from tests.emulators.base import REDACTED
from tests.emulators.smallest import (
    CATALOG_PATH,
    LEGACY_SSE_PATH,
    LEGACY_WS_PATH,
    LIVE_PATH,
    VOICES_PATH,
    Completion,
    SmallestEmulator,
    SmallestEmulatorConfig,
    catalog_entry,
)
from tests.sdk.helpers import assert_mp3_duration, decode_seconds
from tests.sdk.providers import API_KEY
from tests.sdk.providers.smallest import (
    SMALLEST,
    audio_of,
    connect,
    receive_until_complete,
    request,
)
from tests.sdk.wire import (
    Frame,
    assert_silent,
    receive_all,
    receive_json,
    send_all,
)

# pytest-homeassistant-custom-component blocks socket creation by default.
pytestmark = pytest.mark.usefixtures("socket_enabled")

# What the SDK client script sends (see clients/smallest_sdk_client.py).
SHIM_PARTS = ["Hello the", "re, this is a te", "st of the emer", "gency."]
SHIM_TEXT = "Hello there, this is a test of the emergency."
SHIM_SINGLE = "One more sentence."
SOCKET_FIRST = ["Stream", "ing over the Fern so", "cket."]
SOCKET_SECOND = " And after the flush."
SOCKET_REUSED = "A second request on the same socket."
SSE_TEXT = "Server sent events work too."


def shim_frame(text: str, *, continue_: bool, flush: bool) -> Frame:
    """A request frame exactly as the 5.14.0 shim builds it by default."""
    return {
        "voice_id": "magnus",
        "model": "lightning_v3.1",
        "text": text,
        "language": "en",
        "sample_rate": 24000,
        "speed": 1.0,
        "max_buffer_flush_ms": 0,
        "continue": continue_,
        "flush": flush,
    }


def word_stamps(segments: list[str], rate: int) -> list[dict[str, Any]]:
    """The word timestamps of one request spoken as `segments`."""
    stamps: list[dict[str, Any]] = []
    offset = 0.0
    for segment in segments:
        for word, index in synth.words_with_offsets(segment):
            first = round(index * synth.SECONDS_PER_CHAR * rate) / rate
            last = round((index + len(word)) * synth.SECONDS_PER_CHAR * rate) / rate
            stamps.append(
                {
                    "id": len(stamps),
                    "word": word,
                    "start": round(offset + first, 3),
                    "end": round(offset + last, 3),
                }
            )
        offset += synth.sample_count(segment, rate) / rate
    return stamps


def pcm_bytes(rate: int, *texts: str) -> int:
    """Bytes of PCM16 the texts synthesise to at `rate`."""
    return sum(2 * synth.sample_count(text, rate) for text in texts)


def statuses(frames: list[Frame]) -> list[str]:
    """Return the status of every frame."""
    return [f["status"] for f in frames]


def parse_sse(body: str) -> list[tuple[str | None, Frame]]:
    """Split an event stream into (event name, JSON data) pairs."""
    events: list[tuple[str | None, Frame]] = []
    for block in body.split("\n\n"):
        if not block:
            continue
        name: str | None = None
        data: Frame = {}
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = json.loads(value)
        events.append((name, data))
    return events


def sse_audio(events: list[tuple[str | None, Frame]]) -> bytes:
    """Return the decoded audio of flat or nested SSE events."""
    audio = b""
    for _, data in events:
        chunk = data.get("audio") or (data.get("data") or {}).get("audio")
        if chunk:
            audio += base64.b64decode(chunk)
    return audio


async def post_sse(
    http: aiohttp.ClientSession,
    emulator: SmallestEmulator,
    body: Any,
    *,
    path: str = LIVE_PATH,
    key: str = API_KEY,
) -> tuple[int, dict[str, str], str]:
    """POST an SSE request; return status, headers and the whole body."""
    async with http.post(
        emulator.base_url + path,
        json=body,
        headers={"Authorization": f"Bearer {key}", "Accept": "text/event-stream"},
    ) as response:
        return response.status, dict(response.headers), await response.text()


@pytest.fixture
async def emulator() -> AsyncIterator[SmallestEmulator]:
    """A running emulator that accepts API_KEY."""
    async with SmallestEmulator(SmallestEmulatorConfig(api_keys={API_KEY})) as server:
        yield server


# The official SDK: WavesStreamingTTS shim


@pytest.mark.parametrize(
    ("close_after_complete", "path"),
    [(False, LIVE_PATH), (True, LEGACY_WS_PATH)],
)
async def test_sdk_shim_streaming(
    emulator: SmallestEmulator,
    tmp_path: Path,
    close_after_complete: bool,
    path: str,
) -> None:
    """A generator split mid-word, then synthesize(); both ends checked."""
    emulator.config.close_after_complete = close_after_complete
    audio_file = tmp_path / "shim.pcm"
    result = await SMALLEST.run_sdk(
        emulator, "shim", "--path", path, audio_out=audio_file
    )
    assert result["sdk_version"] == "5.14.0"

    # What the emulator saw: one socket per call.
    streamed, single = emulator.sessions
    assert emulator.sessions_started == 2
    assert streamed.path == single.path == path
    # A full request per fragment; the blank fragment never left the shim.
    assert streamed.messages == [
        *(shim_frame(part, continue_=True, flush=False) for part in SHIM_PARTS),
        shim_frame("", continue_=False, flush=True),
    ]
    assert streamed.text_parts == SHIM_PARTS
    assert streamed.text == SHIM_TEXT
    assert streamed.segments == [SHIM_TEXT]
    assert streamed.voice == "magnus"
    assert streamed.model == "lightning_v3.1"
    assert streamed.sample_rate == 24000
    assert streamed.speed == 1.0
    assert streamed.language == "en"
    assert streamed.flushes == 1
    assert streamed.keepalives == 0
    assert streamed.finished
    assert streamed.completes == 1
    assert streamed.error is None
    assert single.messages == [shim_frame(SHIM_SINGLE, continue_=False, flush=False)]
    assert single.segments == [SHIM_SINGLE]
    assert single.flushes == 0
    assert single.finished
    for record in (streamed, single):
        assert record.ended.is_set()
        # The shim closes after `complete` unless the server did first.
        assert record.client_closed is not close_after_complete
    for upgrade in emulator.requests:
        assert upgrade.websocket
        assert upgrade.headers["authorization"] == REDACTED

    # What the SDK saw.
    outcomes = {"streamed": (streamed, SHIM_TEXT), "single": (single, SHIM_SINGLE)}
    for name, (record, text) in outcomes.items():
        seen = result[name]
        assert seen["complete"]
        assert seen["request_id"] == record.request_ids[0]
        assert record.chunks_sent == -(-synth.sample_count(text, 24000) // 2400)
        assert record.audio_bytes_sent == pcm_bytes(24000, text)
        if seen["raised"] is None:
            # A server close may be queued as an error nobody reads.
            assert seen["errors_left"] <= (1 if close_after_complete else 0)
            assert seen["chunks"] == record.chunks_sent
            assert seen["audio_bytes"] == record.audio_bytes_sent
        else:
            # websocket-client reports even a normal server close through
            # on_error, and the shim checks its error queue before its audio
            # queue: when the server closes right after `complete`, the
            # generator may raise and drop the audio still queued.
            assert close_after_complete
            assert seen["raised"]["exception"] == "WebSocketConnectionClosedException"
            assert seen["raised"]["message"] == "Connection closed normally (code 1000)"
            assert seen["audio_bytes"] <= record.audio_bytes_sent
    if result["streamed"]["raised"] is None:
        decoded = await decode_seconds(audio_file.read_bytes(), 24000, fmt="s16le")
        assert decoded == pytest.approx(synth.audio_seconds(SHIM_TEXT), abs=1e-4)


@pytest.mark.parametrize(
    ("voice", "config", "raised", "chunks"),
    [
        ("nobody", {}, "Invalid voice_id 'nobody'", 0),
        ("magnus", {"error_after_chunks": 3}, "emulated internal server error", 3),
        # The shim reads only `message`; other error shapes lose the text.
        ("nobody", {"error_shape": "error"}, "Unknown error", 0),
    ],
)
async def test_sdk_shim_error_frames(
    emulator: SmallestEmulator,
    voice: str,
    config: dict[str, Any],
    raised: str,
    chunks: int,
) -> None:
    """The shim raises the error frame's message; the emulator recorded it."""
    for name, value in config.items():
        setattr(emulator.config, name, value)
    result = await SMALLEST.run_sdk(emulator, "shim_error", "--voice", voice)
    assert result["raised"]["exception"] == "Exception"
    assert result["raised"]["message"] == raised
    # The shim checks its error queue before its audio queue, so audio that
    # arrived just before the error may never reach the caller.
    assert result["chunks"] <= chunks
    assert not result["complete"]
    (record,) = emulator.sessions
    assert record.chunks_sent == chunks
    assert record.completes == 0
    assert record.error == (
        "emulated internal server error" if chunks else "Invalid voice_id 'nobody'"
    )
    # A refused request leaves the socket open (the shim closes it); a
    # fault closes it from the server.
    assert record.client_closed is (chunks == 0)


async def test_sdk_shim_bad_key(emulator: SmallestEmulator) -> None:
    """HTTP 401 at the upgrade: the shim waits out its 10 s connect timeout, then raises."""
    result = await SMALLEST.run_sdk(emulator, "shim_bad_key", api_key="wrong-key")
    assert result["raised"]["message"].startswith("Failed to connect to WebSocket")
    handshake, closed = result["queued_errors"]
    assert handshake["exception"] == "WebSocketBadStatusException"
    assert handshake["status_code"] == 401
    assert '{"error": "Invalid API key"}' in handshake["message"]
    assert closed["exception"] == "ConnectionError"
    assert emulator.sessions == []
    (upgrade,) = emulator.requests
    assert upgrade.websocket
    assert upgrade.headers["authorization"] == REDACTED


# The official SDK: Fern client


async def test_sdk_fern_voices(emulator: SmallestEmulator) -> None:
    """get_voices and get_all_voice_models parse the emulator's catalogue."""
    result = await SMALLEST.run_sdk(emulator, "fern_voices")
    voices = emulator.config.voices
    assert result["voices_class"] == "GetVoicesWavesResponse"
    assert result["voice_classes"] == ["GetVoicesWavesResponseVoicesItem"]
    assert result["voices"] == [
        {"voice_id": v["voiceId"], "display_name": v["displayName"], "tags": v["tags"]}
        for v in voices
    ]
    assert {"magnus", "sophia", "emily", "arjun", "meher", "devansh"} <= {
        v["voice_id"] for v in result["voices"]
    }
    assert result["catalog_class"] == "GetAllVoiceModelsResponse"
    assert result["catalog"] == [
        {
            "id": entry["_id"],
            "voice_id": entry["voiceId"],
            "display_name": entry["displayName"],
            "description": entry["description"],
            "audio_preview": entry["audioPreview"],
            "tags": entry["tags"],
        }
        for entry in map(catalog_entry, voices)
    ]
    assert [r.path for r in emulator.requests] == [VOICES_PATH, CATALOG_PATH]
    for call in emulator.requests:
        assert call.headers["authorization"] == REDACTED
        assert call.headers["x-fern-sdk-name"] == "smallest-ai"


async def test_sdk_fern_socket(emulator: SmallestEmulator, tmp_path: Path) -> None:
    """Two requests over one waves.tts.connect() socket, with a flush and word timestamps."""
    audio_file = tmp_path / "socket.pcm"
    result = await SMALLEST.run_sdk(
        emulator, "fern_socket", "--voice", "meher", audio_out=audio_file
    )
    first_segments = ["".join(SOCKET_FIRST), SOCKET_SECOND]

    # What the emulator saw.
    (record,) = emulator.sessions
    (upgrade,) = emulator.requests
    assert upgrade.query == {"timeout": "30"}
    assert record.idle_timeout == 30.0
    common = {
        "voice_id": "meher",
        "model": "lightning_v3.1_pro",
        "sample_rate": 16000,
        "language": "en",
        "word_timestamps": True,
    }
    ids = {"session_id": "my-session.1", "request_id": "turn-1"}
    assert record.messages == [
        *({"text": part, "continue": True, **common, **ids} for part in SOCKET_FIRST),
        {"text": "", "continue": True, "flush": True, **common, **ids},
        {"text": SOCKET_SECOND, "continue": True, **common, **ids},
        {"text": "", "continue": False, "flush": True, **common, **ids},
        {"text": SOCKET_REUSED, **common},
    ]
    assert record.text_parts == [*SOCKET_FIRST, SOCKET_SECOND, SOCKET_REUSED]
    assert record.segments == [*first_segments, SOCKET_REUSED]
    assert record.flushes == 2
    assert record.completes == 2
    assert record.finished
    assert record.model == "lightning_v3.1_pro"
    assert record.client_closed
    assert record.error is None

    # What the SDK saw: one request id per request, one session id throughout.
    first, second = result["first"], result["second"]
    assert first["classes"] == second["classes"] == ["TtsResponseMessage"]
    assert first["request_ids"] == [record.request_ids[0]]
    assert second["request_ids"] == [record.request_ids[1]]
    assert first["session_ids"] == second["session_ids"] == [record.session_id]
    assert first["external"] == [["my-session.1", "turn-1"]]
    assert second["external"] == [[None, None]]
    assert first["complete"] == {
        "session_id": record.session_id,
        "request_id": record.request_ids[0],
        "external_session_id": "my-session.1",
        "external_request_id": "turn-1",
        "status": "complete",
        "message": "All chunks sent",
        "done": True,
    }
    for part in (first, second):
        assert part["statuses"][-1] == "complete"
        assert part["statuses"].count("complete") == 1
        assert set(part["statuses"]) == {"chunk", "word_timestamp", "complete"}
    # Timestamps run on across the flush and restart with the next request.
    assert first["words"] == word_stamps(first_segments, 16000)
    assert second["words"] == word_stamps([SOCKET_REUSED], 16000)
    assert first["audio_bytes"] == pcm_bytes(16000, *first_segments)
    assert second["audio_bytes"] == pcm_bytes(16000, SOCKET_REUSED)
    assert first["audio_bytes"] + second["audio_bytes"] == record.audio_bytes_sent
    decoded = await decode_seconds(audio_file.read_bytes(), 16000, fmt="s16le")
    assert decoded == pytest.approx(
        synth.audio_seconds("".join(record.segments)), abs=1e-3
    )


@pytest.mark.parametrize("shape", ["flat", "nested"])
async def test_sdk_fern_sse(
    emulator: SmallestEmulator, tmp_path: Path, shape: Any
) -> None:
    """synthesize_sse_tts against both SSE shapes.

    SDK 5.14.0 parses each event's JSON as a str, which fails for every
    event of either shape: the documented iterator yields nothing and logs a
    warning per event. The events themselves, read from the same response
    with the SDK's decoder, carry the whole audio.
    """
    emulator.config.sse_shape = shape
    audio_file = tmp_path / "sse.pcm"
    result = await SMALLEST.run_sdk(emulator, "fern_sse", audio_out=audio_file)
    documented, raw = emulator.sse_requests
    sent = {
        "text": SSE_TEXT,
        "voice_id": "magnus",
        "sample_rate": 24000,
        "output_format": "pcm",
        "request_id": "sse-1",
    }
    for record in (documented, raw):
        assert record.body == sent
        assert record.path == LIVE_PATH
        assert record.text == SSE_TEXT
        assert record.segments == [SSE_TEXT]
        assert record.voice == "magnus"
        assert record.error is None
        assert not record.client_closed
        assert record.ended.is_set()
    chunks = raw.chunks_sent
    assert documented.chunks_sent == chunks > 1
    assert result["items"] == []
    assert result["skipped_warnings"] == chunks + 1
    assert result["content_type"].startswith("text/event-stream")
    assert result["external_request_id"] == "sse-1"
    if shape == "flat":
        audio_event = {"event": "audio", "keys": ["audio"]}
        end_event = {"event": "", "keys": ["done"]}
    else:
        audio_event = {"event": "", "keys": ["data", "status"]}
        end_event = {"event": "", "keys": ["done", "message", "status"]}
    assert result["events"] == [audio_event] * chunks + [end_event]
    assert result["audio_bytes"] == raw.audio_bytes_sent == pcm_bytes(24000, SSE_TEXT)
    decoded = await decode_seconds(audio_file.read_bytes(), 24000, fmt="s16le")
    assert decoded == pytest.approx(synth.audio_seconds(SSE_TEXT), abs=1e-4)


# The WebSocket on the raw wire: handshake


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing API key"),
        ({"Authorization": "Bearer wrong"}, "Invalid API key"),
        ({"Authorization": "Bearer "}, "Missing API key"),
        ({"Authorization": f"Token {API_KEY}"}, "Missing API key"),
    ],
)
async def test_upgrade_refused_without_a_valid_bearer_key(
    emulator: SmallestEmulator,
    http: aiohttp.ClientSession,
    headers: dict[str, str],
    message: str,
) -> None:
    """A bad or missing key is an HTTP 401 with a JSON body, before any upgrade."""
    for path in (LIVE_PATH, LEGACY_WS_PATH):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(emulator.ws_base_url + path, headers=headers)
        assert refused.value.status == 401
        async with http.get(emulator.base_url + path, headers=headers) as response:
            assert response.status == 401
            assert await response.json() == {"error": message}
    assert emulator.sessions == []
    assert emulator.sessions_started == 0


async def test_upgrade_refusal_switches(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """websocket_enabled=False answers 404 (SSE still works); ws_reject_status refuses."""
    emulator.config.websocket_enabled = False
    for path in (LIVE_PATH, LEGACY_WS_PATH):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await connect(http, emulator, path=path)
        assert refused.value.status == 404
    status, _, body = await post_sse(http, emulator, request("Still here."))
    assert status == 200
    assert parse_sse(body)[-1] == (None, {"done": True})

    emulator.config.websocket_enabled = True
    emulator.config.ws_reject_status = 429
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(http, emulator)
    assert refused.value.status == 429
    assert emulator.sessions == []


@pytest.mark.parametrize("seconds", ["abc", "0", "-5", "nan"])
async def test_bad_timeout_query(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, seconds: str
) -> None:
    """?timeout= must be a positive number."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(http, emulator, query={"timeout": seconds})
    assert refused.value.status == 400
    assert emulator.sessions == []


# The WebSocket on the raw wire: requests


async def test_streamed_request_and_socket_reuse(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """Fragments, a keep-alive, a flush and the end; then a second request on the socket."""
    ws = await connect(http, emulator)
    await send_all(
        ws,
        request("Good mor", **{"continue": True}),
        request("ning, wor", **{"continue": True}),
        {"text": " ", "continue": True},  # keep-alive
        request("ld.", **{"continue": True, "flush": True}),
        request(" How are you?", **{"continue": True}),
        request("", **{"continue": False, "flush": True}),
    )
    frames = await receive_until_complete(ws)
    record = await emulator.wait_for_session(0)
    (request_id,) = record.request_ids
    assert request_id.startswith("task_")
    assert record.session_id.startswith("ws_")
    assert statuses(frames) == ["chunk"] * (len(frames) - 1) + ["complete"]
    for frame in frames[:-1]:
        assert set(frame) == {"session_id", "request_id", "status", "data"}
        assert frame["session_id"] == record.session_id
        assert frame["request_id"] == request_id
        assert set(frame["data"]) == {"audio"}
    assert frames[-1] == {
        "session_id": record.session_id,
        "request_id": request_id,
        "status": "complete",
        "message": "All chunks sent",
        "done": True,
    }
    assert len(audio_of(frames)) == pcm_bytes(
        8000, "Good morning, world.", " How are you?"
    )
    # 0.1 s of audio per chunk.
    assert len(base64.b64decode(frames[0]["data"]["audio"])) == 2 * 800
    assert record.text_parts == ["Good mor", "ning, wor", "ld.", " How are you?"]
    assert record.text == "Good morning, world. How are you?"
    assert record.segments == ["Good morning, world.", " How are you?"]
    assert record.keepalives == 1
    assert record.flushes == 2
    assert record.finished
    assert record.completes == 1
    assert record.voice == "magnus"
    assert len(record.messages) == 6

    # complete does not close the socket: it takes another request.
    await ws.send_json(request("Again."))
    again = await receive_until_complete(ws)
    assert len(audio_of(again)) == pcm_bytes(8000, "Again.")
    assert {f["session_id"] for f in again} == {record.session_id}
    assert {f["request_id"] for f in again} == {record.request_ids[1]}
    assert record.request_ids[1] != request_id
    assert record.completes == 2
    assert not ws.closed
    await ws.close()
    async with asyncio.timeout(2):
        await record.ended.wait()
    assert record.client_closed


@pytest.mark.parametrize("close_after_complete", [False, True])
async def test_close_after_complete(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, close_after_complete: bool
) -> None:
    """UNKNOWN switch: keep the socket for more requests, or close 1000 after complete."""
    emulator.config.close_after_complete = close_after_complete
    ws = await connect(http, emulator)
    await ws.send_json(request("Just this."))
    frames = await receive_until_complete(ws)
    assert frames[-1]["status"] == "complete"
    record = emulator.sessions[0]
    if close_after_complete:
        assert await receive_all(ws) == []
        assert ws.close_code == 1000
        async with asyncio.timeout(2):
            await record.ended.wait()
        assert not record.client_closed
    else:
        await assert_silent(ws, 0.2)
        await ws.send_json(request("More."))
        assert statuses(await receive_until_complete(ws))[-1] == "complete"
        await ws.close()
        async with asyncio.timeout(2):
            await record.ended.wait()
        assert record.client_closed


@pytest.mark.parametrize("completion", ["end", "text_flush"])
async def test_complete_on_flush(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, completion: Completion
) -> None:
    """UNKNOWN switch: a mid-request flush may also end with `complete`."""
    emulator.config.completion = completion
    complete_on_flush = completion == "text_flush"
    ws = await connect(http, emulator)
    await send_all(
        ws,
        request("First part.", **{"continue": True, "flush": True}),
        request(" Second part.", **{"continue": True}),
        request("", **{"continue": False, "flush": True}),
    )
    frames = await receive_until_complete(ws)
    record = emulator.sessions[0]
    if complete_on_flush:
        # The first complete closes the flushed part; the end has its own.
        frames += await receive_until_complete(ws)
        completes = [i for i, f in enumerate(frames) if f["status"] == "complete"]
        assert len(completes) == 2
        assert len(audio_of(frames[: completes[0]])) == pcm_bytes(8000, "First part.")
        assert len(record.request_ids) == 2
        assert frames[0]["request_id"] == record.request_ids[0]
        assert frames[-1]["request_id"] == record.request_ids[1]
    else:
        assert statuses(frames).count("complete") == 1
        assert {f["request_id"] for f in frames} == {record.request_ids[0]}
        await assert_silent(ws, 0.1)
    assert record.segments == ["First part.", " Second part."]
    assert record.completes == len(record.request_ids)
    assert len(audio_of(frames)) == pcm_bytes(8000, "First part.", " Second part.")


async def test_complete_after_every_flush_message(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """UNKNOWN switch: even an empty flush, and an end without flush, complete."""
    emulator.config.completion = "every_flush"
    ws = await connect(http, emulator)
    await send_all(
        ws,
        request("First part.", **{"continue": True, "flush": True}),
        request("", **{"continue": True, "flush": True}),
        request("", **{"continue": False}),
    )
    frames = await receive_until_complete(ws)
    frames += await receive_until_complete(ws)
    frames += await receive_until_complete(ws)
    assert statuses(frames).count("complete") == 3
    assert len(audio_of(frames)) == pcm_bytes(8000, "First part.")
    await assert_silent(ws, 0.1)


async def test_complete_after_every_sentence(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """UNKNOWN switch: one complete per sentence spoken, none for the end itself."""
    emulator.config.completion = "sentence"
    ws = await connect(http, emulator)
    await send_all(
        ws,
        request("One. Two! Three", **{"continue": True, "flush": True}),
        request("", **{"continue": False}),
    )
    frames: list[dict[str, Any]] = []
    for _ in range(3):
        frames += await receive_until_complete(ws)
    assert emulator.sessions[0].segments == ["One. ", "Two! ", "Three"]
    assert len(audio_of(frames)) == pcm_bytes(8000, "One. ", "Two! ", "Three")
    await assert_silent(ws, 0.1)


async def test_continue_absent_or_false_ends_the_request(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """No `continue` means the input is complete; an empty end still completes."""
    ws = await connect(http, emulator)
    await ws.send_json(request("Whole text."))
    frames = await receive_until_complete(ws)
    assert len(audio_of(frames)) == pcm_bytes(8000, "Whole text.")
    await ws.send_json(request("", **{"continue": False}))
    assert statuses(await receive_until_complete(ws)) == ["complete"]
    record = emulator.sessions[0]
    assert record.segments == ["Whole text."]
    assert record.text_parts == ["Whole text."]
    assert record.finished
    assert record.completes == 2


async def test_flush_on_empty_buffer_sends_nothing(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """A flush with nothing buffered neither speaks nor completes."""
    emulator.config.completion = "text_flush"
    ws = await connect(http, emulator)
    await ws.send_json(request("", **{"continue": True, "flush": True}))
    await assert_silent(ws, 0.15)
    record = emulator.sessions[0]
    assert record.flushes == 1
    assert record.keepalives == 0
    assert record.segments == []
    assert not record.finished


@pytest.mark.parametrize("flush_ms", [0, 50])
async def test_max_buffer_flush_ms(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, flush_ms: int
) -> None:
    """> 0 speaks buffered text after that much quiet; 0 waits for flush or end."""
    ws = await connect(http, emulator)
    frame = request("Buffered.", **{"continue": True, "max_buffer_flush_ms": flush_ms})
    await ws.send_json(frame)
    record = await emulator.wait_for_session(0)
    if flush_ms:
        first = await receive_json(ws)
        assert first["status"] == "chunk"
        assert record.segments == ["Buffered."]
    else:
        await assert_silent(ws, 0.2)
        assert record.segments == []
    await ws.send_json(request("", **{"continue": False, "flush": True}))
    rest = await receive_until_complete(ws)
    assert rest[-1]["status"] == "complete"
    assert record.segments == ["Buffered."]
    assert record.completes == 1


@pytest.mark.parametrize(
    ("mode", "output_format"),
    [
        ("pcm_only", "mp3"),
        ("pcm_only", "alaw"),
        ("honour", "pcm"),
        ("honour", "mp3"),
        ("honour", "wav"),
        ("honour", "ulaw"),
    ],
)
async def test_ws_output_format(
    emulator: SmallestEmulator,
    http: aiohttp.ClientSession,
    mode: Any,
    output_format: str,
) -> None:
    """UNKNOWN switch: output_format is ignored on the socket, or honoured."""
    emulator.config.ws_output_format = mode
    segments = ["An encoded sentence.", " And one after the flush."]
    rate = 16000
    ws = await connect(http, emulator)
    await send_all(
        ws,
        request(segments[0], sample_rate=rate, output_format=output_format,
                **{"continue": True, "flush": True}),
        request(segments[1], sample_rate=rate, output_format=output_format),
    )  # fmt: skip
    frames = await receive_until_complete(ws)
    chunks = [base64.b64decode(f["data"]["audio"]) for f in frames[:-1]]
    audio = b"".join(chunks)
    samples = sum(synth.sample_count(s, rate) for s in segments)
    effective = output_format if mode == "honour" else "pcm"
    match effective:
        case "pcm":
            assert len(audio) == 2 * samples
            decoded = await decode_seconds(audio, rate, fmt="s16le")
            assert decoded == pytest.approx(samples / rate, abs=1e-6)
        case "mp3":
            for chunk in chunks:
                assert synth.split_mp3_frames(chunk) == (chunk, b"")
            assert synth.mp3_frame_sample_rate(chunks[0]) == rate
            assert_mp3_duration(await decode_seconds(audio, rate), segments, rate)
        case "wav":
            # Every synthesis starts with a streaming WAV header.
            header = synth.wav_header(rate)
            assert audio.count(header) == 2
            assert len(audio) == 2 * len(header) + 2 * samples
            first = audio[: len(header) + 2 * synth.sample_count(segments[0], rate)]
            decoded = await decode_seconds(first, rate, fmt="wav")
            assert decoded == pytest.approx(synth.audio_seconds(segments[0]), abs=1e-6)
        case "ulaw":
            assert len(audio) == samples
    assert emulator.sessions[0].segments == segments


@pytest.mark.parametrize(
    ("output_format", "message"),
    [
        ("alaw", "output_format 'alaw' is not supported by this emulator"),
        ("flac", "Invalid output_format 'flac'"),
    ],
)
async def test_ws_output_format_refused_when_honoured(
    emulator: SmallestEmulator,
    http: aiohttp.ClientSession,
    output_format: str,
    message: str,
) -> None:
    """In "honour" mode an unusable output_format is a refused request."""
    emulator.config.ws_output_format = "honour"
    ws = await connect(http, emulator)
    await ws.send_json(request("x", output_format=output_format))
    error = await receive_json(ws)
    assert error["status"] == "error"
    assert error["message"] == message


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 44100, None])
async def test_sample_rates(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, rate: int | None
) -> None:
    """Audio is PCM16 at the requested rate, 44100 Hz when none is given."""
    frame = request("Rate test.", sample_rate=rate)
    if rate is None:
        del frame["sample_rate"]
    ws = await connect(http, emulator)
    await ws.send_json(frame)
    frames = await receive_until_complete(ws)
    expected_rate = rate or 44100
    assert len(audio_of(frames)) == pcm_bytes(expected_rate, "Rate test.")
    assert emulator.sessions[0].sample_rate == expected_rate


async def test_word_timestamps_only_for_supporting_voices(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """meher gets word events after the chunk holding each word; magnus gets none."""
    ws = await connect(http, emulator)
    text = "alpha beta gamma"
    await ws.send_json(request(text, voice_id="meher", word_timestamps=True))
    frames = await receive_until_complete(ws)
    words = [f["data"] for f in frames if f["status"] == "word_timestamp"]
    assert words == word_stamps([text], 8000)
    assert words[1] == {"id": 1, "word": "beta", "start": 0.36, "end": 0.6}
    # Each word follows the chunk its start falls in (0.1 s per chunk).
    position = 0.0
    for frame in frames:
        if frame["status"] == "chunk":
            position += len(base64.b64decode(frame["data"]["audio"])) / 2 / 8000
        elif frame["status"] == "word_timestamp":
            assert frame["data"]["start"] < position
    await ws.send_json(request(text, voice_id="magnus", word_timestamps=True))
    assert "word_timestamp" not in statuses(await receive_until_complete(ws))


async def test_external_ids_are_echoed(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """session_id/request_id come back as external_*; absent ones stay absent."""
    ws = await connect(http, emulator)
    await ws.send_json(request("Ids.", session_id="call_42", request_id="turn.7"))
    for frame in await receive_until_complete(ws):
        assert frame["external_session_id"] == "call_42"
        assert frame["external_request_id"] == "turn.7"
    await ws.send_json(request("No ids."))
    for frame in await receive_until_complete(ws):
        assert "external_session_id" not in frame
        assert "external_request_id" not in frame


async def test_unknown_fields_are_ignored(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """Framework extensions (context_id, enhancement…) do not disturb a request."""
    ws = await connect(http, emulator, path=LEGACY_WS_PATH)
    extras = {
        "context_id": "ctx1",
        "enhancement": 1,
        "similarity": 0.5,
        "max_buffer_delay_ms": 3000,
        "math_notation": True,
        "content_filter": {"enabled": True, "action": "flag"},
        "pronunciation_dicts": ["dict-1"],
        "complete_backoff_ms": 0,
        "language": "auto",
        "speed": 1.5,
        "model": "lightning_v3.1_pro",
    }
    await ws.send_json(request("Extras.", **extras))
    frames = await receive_until_complete(ws)
    assert len(audio_of(frames)) == pcm_bytes(8000, "Extras.")
    record = emulator.sessions[0]
    assert record.path == LEGACY_WS_PATH
    assert record.speed == 1.5  # recorded; the audio length does not change
    assert record.language == "auto"
    assert record.messages == [request("Extras.", **extras)]


# The WebSocket on the raw wire: errors


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"text": "x"}, "voice_id is required"),
        ({"voice_id": "nobody", "text": "x"}, "Invalid voice_id 'nobody'"),
        ({"voice_id": "magnus"}, "text is required"),
        ({"voice_id": "magnus", "text": 5}, "text must be a string"),
        (request("x", model="lightning_v2"), "Invalid model 'lightning_v2'"),
        (request("x", sample_rate=22050), "Invalid sample_rate 22050"),
        (request("x", sample_rate="8000"), "Invalid sample_rate '8000'"),
        (request("x", speed=3.0), "Invalid speed 3.0"),
        (request("x", language="xx"), "Unsupported language 'xx'"),
        (request("x", language=["en"]), "Unsupported language ['en']"),
        (request("x", max_buffer_flush_ms=5000), "max_buffer_flush_ms must be"),
        (request("x", complete_backoff_ms=-1), "Invalid complete_backoff_ms -1"),
        (request("x", session_id="has space"), "session_id must be"),
        (request("x", request_id="r" * 129), "request_id must be"),
        (request("x", **{"continue": "yes"}), "continue must be a boolean"),
        (request("x", flush=1), "flush must be a boolean"),
        (request("x", word_timestamps="true"), "word_timestamps must be a boolean"),
        ("not json", "messages must be JSON objects"),
        ([1, 2], "messages must be JSON objects"),
        (b"\x00\x01", "binary messages are not accepted; send JSON"),
    ],
)
async def test_refused_requests(
    emulator: SmallestEmulator,
    http: aiohttp.ClientSession,
    frame: Any,
    message: str,
) -> None:
    """One error frame naming the problem; the socket stays open."""
    ws = await connect(http, emulator)
    if isinstance(frame, bytes):
        await ws.send_bytes(frame)
    elif isinstance(frame, str):
        await ws.send_str(frame)
    else:
        await ws.send_json(frame)
    error = await receive_json(ws)
    record = emulator.sessions[0]
    assert error == {
        "status": "error",
        "message": error["message"],
        "request_id": record.request_ids[0],
    }
    assert error["message"].startswith(message)
    assert record.error == error["message"]
    assert record.text_parts == []
    # Still usable.
    await ws.send_json(request("Fine."))
    assert statuses(await receive_until_complete(ws))[-1] == "complete"


async def test_refused_frame_drops_its_request(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """Text buffered before a refused frame is never spoken."""
    ws = await connect(http, emulator)
    await send_all(
        ws,
        request("Dropped ", **{"continue": True}),
        request("text", voice_id="nobody", **{"continue": True}),
        request("Kept."),
    )
    error = await receive_json(ws)
    frames = await receive_until_complete(ws)
    record = emulator.sessions[0]
    assert error["request_id"] == record.request_ids[0]
    assert {f["request_id"] for f in frames} == {record.request_ids[1]}
    assert len(audio_of(frames)) == pcm_bytes(8000, "Kept.")
    assert record.segments == ["Kept."]
    assert record.text_parts == ["Dropped ", "Kept."]
    assert record.errors == ["Invalid voice_id 'nobody'"]


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("message", {"message": "Invalid voice_id 'nobody'"}),
        ("error", {"error": "Invalid voice_id 'nobody'"}),
        (
            "nested",
            {
                "error": {
                    "message": "Invalid voice_id 'nobody'",
                    "code": "invalid_request",
                }
            },
        ),
    ],
)
async def test_error_shapes(
    emulator: SmallestEmulator,
    http: aiohttp.ClientSession,
    shape: Any,
    expected: dict[str, Any],
) -> None:
    """UNKNOWN switch: the error frame carries message, error or error{message,code}."""
    emulator.config.error_shape = shape
    ws = await connect(http, emulator)
    await ws.send_json(request("x", voice_id="nobody"))
    error = await receive_json(ws)
    record = emulator.sessions[0]
    assert error == {
        "status": "error",
        **expected,
        "request_id": record.request_ids[0],
    }


@pytest.mark.parametrize("close_after_error", [False, True])
async def test_close_after_error(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, close_after_error: bool
) -> None:
    """A refused request closes the socket only when configured to."""
    emulator.config.close_after_error = close_after_error
    emulator.config.error_close_code = 1008
    ws = await connect(http, emulator)
    await ws.send_json(request("x", sample_rate=1))
    assert (await receive_json(ws))["status"] == "error"
    record = emulator.sessions[0]
    if close_after_error:
        assert await receive_all(ws) == []
        assert ws.close_code == 1008
        async with asyncio.timeout(2):
            await record.ended.wait()
        assert not record.client_closed
    else:
        await assert_silent(ws, 0.15)
        assert not record.ended.is_set()


# Idle timeout


@pytest.mark.parametrize(
    ("config_timeout", "query", "shown"),
    [(0.3, None, "0.3"), (60.0, {"timeout": "0.2"}, "0.2")],
)
async def test_idle_timeout(
    emulator: SmallestEmulator,
    http: aiohttp.ClientSession,
    config_timeout: float,
    query: dict[str, str] | None,
    shown: str,
) -> None:
    """A silent client gets the timeout error frame, then a close."""
    emulator.config.idle_timeout = config_timeout
    ws = await connect(http, emulator, query=query)
    frames = await receive_all(ws)
    assert frames == [
        {
            "status": "error",
            "message": f"Connection timed out after {shown} seconds of inactivity",
        }
    ]
    assert ws.close_code == 1000
    record = emulator.sessions[0]
    assert record.timed_out
    assert record.error == frames[0]["message"]
    assert record.idle_timeout == float(shown)
    async with asyncio.timeout(2):
        await record.ended.wait()
    assert not record.client_closed


async def test_keepalives_reset_the_idle_timer(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """Blank continue:true frames get no reply and keep the socket alive."""
    emulator.config.idle_timeout = 0.4
    ws = await connect(http, emulator)
    keepalives = [
        {"text": " ", "continue": True},
        # pipecat's shape, with the voice fields and continue spelled out.
        {
            "text": " ",
            "voice_id": "magnus",
            "model": "lightning_v3.1",
            "continue": True,
        },
        {"text": "", "continue": True, "flush": False},
    ] * 2
    for keepalive in keepalives:  # 0.6 s in all, longer than the idle timeout
        await ws.send_json(keepalive)
        await assert_silent(ws, 0.1)
    record = emulator.sessions[0]
    assert record.keepalives == len(keepalives)
    assert record.text_parts == []
    assert record.flushes == 0
    assert not record.timed_out
    frames = await receive_all(ws)
    assert [f["status"] for f in frames] == ["error"]
    assert record.timed_out


async def test_idle_timer_waits_for_speech_to_finish(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """Audio still being sent is not inactivity."""
    emulator.config.idle_timeout = 0.2
    emulator.config.speed = 2.0
    text = "Ten chars."  # 0.6 s of audio, about 0.3 s at twice real time
    ws = await connect(http, emulator)
    await ws.send_json(request(text))
    frames = await receive_until_complete(ws)
    assert len(audio_of(frames)) == pcm_bytes(8000, text)
    assert [f["status"] for f in await receive_all(ws)] == ["error"]
    assert emulator.sessions[0].timed_out


# Fault switches


async def test_first_audio_latency(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """Every synthesis waits first_audio_latency before its first chunk."""
    emulator.config.first_audio_latency = 0.3
    ws = await connect(http, emulator)
    await ws.send_json(request("Hi."))
    await assert_silent(ws, 0.15)
    frames = await receive_until_complete(ws)
    assert len(audio_of(frames)) == pcm_bytes(8000, "Hi.")


async def test_stop_ends_open_streams(http: aiohttp.ClientSession) -> None:
    """stop() returns promptly with a stalled socket and a stalled SSE response open."""
    server = SmallestEmulator(SmallestEmulatorConfig(stall_after_chunks=1))
    await server.start()
    ws = await connect(http, server)
    await ws.send_json(request("Long enough text."))
    assert (await receive_json(ws))["status"] == "chunk"
    async with http.post(
        server.base_url + LIVE_PATH,
        json=request("Long enough text."),
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as response:
        assert response.status == 200
        assert (await response.content.readline()).startswith(b"event: audio")
        async with asyncio.timeout(3):
            await server.stop()
    assert server.sessions[0].ended.is_set()
    assert server.sse_requests[0].ended.is_set()
    assert server.open_connections == 0


# Server-Sent Events on the raw wire


@pytest.mark.parametrize("path", [LIVE_PATH, LEGACY_SSE_PATH])
@pytest.mark.parametrize("shape", ["flat", "nested"])
async def test_sse_shapes(
    emulator: SmallestEmulator,
    http: aiohttp.ClientSession,
    shape: Any,
    path: str,
) -> None:
    """UNKNOWN switch: flat events (current docs) or nested ones (seed 001)."""
    emulator.config.sse_shape = shape
    body = request("Streaming by POST.", session_id="s1", speed=0.8)
    status, headers, text = await post_sse(http, emulator, body, path=path)
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    assert headers["X-External-Session-Id"] == "s1"
    events = parse_sse(text)
    audio_events, end = events[:-1], events[-1]
    if shape == "flat":
        assert text.startswith("event: audio\ndata: {")
        assert all(
            name == "audio" and set(data) == {"audio"} for name, data in audio_events
        )
        assert end == (None, {"done": True})
    else:
        assert text.startswith('data: {"status": "chunk"')
        assert all(
            name is None
            and data["status"] == "chunk"
            and set(data["data"]) == {"audio"}
            for name, data in audio_events
        )
        assert end == (
            None,
            {"status": "complete", "message": "All chunks sent", "done": True},
        )
    audio = sse_audio(events)
    assert len(audio) == pcm_bytes(8000, "Streaming by POST.")
    record = emulator.sse_requests[0]
    assert record.path == path
    assert record.body == body
    assert record.text_parts == ["Streaming by POST."]
    assert record.text == "Streaming by POST."
    assert record.segments == ["Streaming by POST."]
    assert record.voice == "magnus"
    assert record.chunks_sent == len(audio_events)
    assert record.audio_bytes_sent == len(audio)
    assert emulator.sessions == []


@pytest.mark.parametrize("output_format", [None, "pcm", "mp3", "wav", "ulaw"])
async def test_sse_output_formats(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, output_format: str | None
) -> None:
    """SSE honours output_format; PCM by default; sample_rate defaults to 44100."""
    text = "Format check."
    body: Frame = {"voice_id": "sophia", "text": text}
    if output_format is not None:
        body["output_format"] = output_format
    status, _, raw = await post_sse(http, emulator, body)
    assert status == 200
    audio = sse_audio(parse_sse(raw))
    rate = 44100
    samples = synth.sample_count(text, rate)
    match output_format:
        case None | "pcm":
            assert len(audio) == 2 * samples
            decoded = await decode_seconds(audio, rate, fmt="s16le")
            assert decoded == pytest.approx(synth.audio_seconds(text), abs=1e-4)
        case "mp3":
            assert_mp3_duration(await decode_seconds(audio, rate), [text], rate)
        case "wav":
            assert audio.startswith(synth.wav_header(rate))
            decoded = await decode_seconds(audio, rate, fmt="wav")
            assert decoded == pytest.approx(synth.audio_seconds(text), abs=1e-4)
        case "ulaw":
            assert len(audio) == samples
    record = emulator.sse_requests[0]
    assert record.output_format == (output_format or "pcm")
    assert record.sample_rate == rate


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (request("x", voice_id="nobody"), "Invalid voice_id 'nobody'"),
        (request("x", output_format="alaw"), "output_format 'alaw' is not supported"),
        (request("   "), "text is required"),
        (request("x", sample_rate=12345), "Invalid sample_rate 12345"),
        ([1], "the body must be a JSON object"),
    ],
)
async def test_sse_refused(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, body: Any, message: str
) -> None:
    """Refused before streaming: a 400 with a JSON body."""
    status, headers, text = await post_sse(http, emulator, body)
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(text)["error"].startswith(message)
    if isinstance(body, dict):
        (record,) = emulator.sse_requests
        assert record.error is not None
        assert record.error.startswith(message)
        assert record.text_parts == []


async def test_sse_auth_and_override(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """A bad key is a 401; rest_status_override answers SSE too."""
    status, _, text = await post_sse(http, emulator, request("x"), key="wrong")
    assert status == 401
    assert json.loads(text) == {"error": "Invalid API key"}
    emulator.config.rest_status_override = 503
    emulator.config.rest_error_shape = "typed"
    status, _, text = await post_sse(http, emulator, request("x"))
    assert status == 503
    assert json.loads(text) == {
        "error": {"message": "emulated HTTP 503", "type": "internal_server_error"}
    }
    assert emulator.sse_requests == []


@pytest.mark.parametrize("shape", ["flat", "nested"])
async def test_sse_error_after_chunks(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, shape: Any
) -> None:
    """N audio events, an error event, the end of the stream."""
    emulator.config.sse_shape = shape
    emulator.config.error_after_chunks = 2
    status, _, text = await post_sse(http, emulator, request("Long enough text."))
    assert status == 200
    events = parse_sse(text)
    assert len(events) == 3
    assert events[-1] == (
        "error" if shape == "flat" else None,
        {"status": "error", "message": "emulated internal server error"},
    )
    record = emulator.sse_requests[0]
    assert record.chunks_sent == 2
    assert record.error == "emulated internal server error"


async def test_sse_drop_and_stall(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """drop_after_chunks cuts the connection; stall_after_chunks goes quiet."""
    emulator.config.drop_after_chunks = 1
    with pytest.raises(aiohttp.ClientPayloadError):
        await post_sse(http, emulator, request("Long enough text."))
    assert emulator.sse_requests[0].chunks_sent == 1

    emulator.config.drop_after_chunks = None
    emulator.config.stall_after_chunks = 1
    async with http.post(
        emulator.base_url + LIVE_PATH,
        json=request("Long enough text."),
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as response:
        assert (await response.content.readline()).startswith(b"event: audio")
        await response.content.readline()
        await response.content.readline()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await response.content.readline()
    record = emulator.sse_requests[1]
    async with asyncio.timeout(2):
        await record.ended.wait()
    assert record.client_closed
    assert record.chunks_sent == 1


# Voice listings


async def test_voice_listings(
    emulator: SmallestEmulator, http: aiohttp.ClientSession
) -> None:
    """get_voices returns the configured voices; the catalogue adds ids and previews."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with http.get(emulator.base_url + VOICES_PATH, headers=headers) as response:
        assert response.status == 200
        voices = (await response.json())["voices"]
    assert voices == emulator.config.voices
    for voice in voices:
        assert set(voice) == {"voiceId", "displayName", "tags"}
        assert set(voice["tags"]) == {
            "language", "accent", "gender", "age", "emotions", "usecases",
        }  # fmt: skip
    async with http.get(emulator.base_url + CATALOG_PATH, headers=headers) as response:
        assert response.status == 200
        catalog = (await response.json())["voices"]
    assert [v["voiceId"] for v in catalog] == [v["voiceId"] for v in voices]
    for entry in catalog:
        assert set(entry) == {
            "_id", "voiceId", "displayName", "description", "audioPreview", "tags",
        }  # fmt: skip
        assert len(entry["_id"]) == 24
    async with http.get(
        emulator.base_url + "/waves/v1/lightning-v2/get_voices", headers=headers
    ) as response:
        assert response.status == 400
        assert "lightning-v3.1" in (await response.json())["error"]

    emulator.config.voices = voices[:1]
    async with http.get(emulator.base_url + VOICES_PATH, headers=headers) as response:
        assert [v["voiceId"] for v in (await response.json())["voices"]] == ["magnus"]


@pytest.mark.parametrize(
    ("shape", "body"),
    [
        ("flat", {"error": "Invalid API key"}),
        ("typed", {"error": {"message": "Invalid API key", "type": "unauthorized"}}),
    ],
)
async def test_voice_listings_refused(
    emulator: SmallestEmulator, http: aiohttp.ClientSession, shape: Any, body: Any
) -> None:
    """UNKNOWN switch: REST errors as {"error": msg} or {"error": {message, type}}."""
    emulator.config.rest_error_shape = shape
    for path in (VOICES_PATH, CATALOG_PATH):
        async with http.get(
            emulator.base_url + path, headers={"Authorization": "Bearer wrong"}
        ) as response:
            assert response.status == 401
            assert await response.json() == body
    async with http.get(emulator.base_url + VOICES_PATH) as response:
        assert response.status == 401
    emulator.config.rest_status_override = 429
    async with http.get(
        emulator.base_url + VOICES_PATH,
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as response:
        assert response.status == 429
    for recorded in emulator.requests:
        assert recorded.headers.get("authorization") in (None, REDACTED)
