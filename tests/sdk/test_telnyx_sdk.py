"""The Telnyx emulator against the official SDK (telnyx 4.189.0) and on the raw wire.

The SDK runs in its own interpreter; see tests/sdk/helpers.py.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
import time
from typing import Any

import aiohttp
import pytest

from tests.emulators import synth
from tests.emulators.base import REDACTED
from tests.emulators.telnyx import (
    AUDIO_ERROR,
    IDLE_CLOSE_REASON,
    STREAM_PATH,
    VOICES_PATH,
    TelnyxEmulator,
    TelnyxEmulatorConfig,
    default_voices,
    sentence_end,
)
from tests.sdk.helpers import assert_mp3_duration, decode_seconds
from tests.sdk.providers import API_KEY
from tests.sdk.providers.telnyx import (
    TELNYX,
    VOICE,
    audio_frames,
    audio_of,
    handshake,
    open_ws,
)
from tests.sdk.wire import (
    Frame,
    receive_all,
    receive_json,
    send_all,
)

# pytest-homeassistant-custom-component blocks socket creation by default.
pytestmark = pytest.mark.usefixtures("socket_enabled")

RATE = 24000

# What the SDK client script sends (see clients/telnyx_sdk_client.py).
SDK_PARTS = ["Hel", "lo there. How a", "re you to", "day? And now a part"]
SDK_FLUSHED = "ial thought"
SDK_SEGMENTS = ["Hello there.", " How are you today?", " And now a partial thought"]
FORCE_DROPPED = (
    "This long sentence is interrupted by the client well before it ends, "
    "so most of it is never heard."
)
FORCE_KEPT = "Next sentence."
ERROR_TEXT = "This sentence fails halfway through."

# Headers of a WebSocket upgrade, for reading the HTTP answer to a refused one.
UPGRADE_HEADERS = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
}


@pytest.fixture
async def emulator() -> AsyncIterator[TelnyxEmulator]:
    """A running emulator that accepts API_KEY."""
    async with TelnyxEmulator(TelnyxEmulatorConfig(api_keys={API_KEY})) as server:
        yield server


def expected_mp3(
    text: str, sample_rate: int = RATE, chunk_seconds: float = 0.1
) -> bytes:
    """Return the MP3 stream the emulator produces for one synthesis of `text`."""
    encoder = synth.Mp3StreamEncoder(sample_rate)
    pcm = synth.synthesize_pcm(text, sample_rate)
    data = b"".join(
        encoder.encode(piece)
        for piece in synth.chunk_pcm(pcm, sample_rate, chunk_seconds)
    )
    return data + encoder.flush()


async def receive_close(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    """Read until the close frame and return it, failing on audio."""
    async with asyncio.timeout(5):
        message = await ws.receive()
    assert message.type is aiohttp.WSMsgType.CLOSE, message
    return message


def text_frames(frames: list[Frame]) -> list[str]:
    """Return the texts of the text-bearing frames (audio null, not final)."""
    return [
        f["text"]
        for f in frames
        if f.get("audio") is None and not f.get("isFinal") and "error" not in f
    ]


def finals(frames: list[Frame]) -> int:
    """Count the final frames."""
    return sum(1 for f in frames if f.get("isFinal") is True)


# The official SDK


@pytest.mark.parametrize("type_field", [False, True])
async def test_sdk_stream_end_to_end(
    emulator: TelnyxEmulator, tmp_path: Path, type_field: bool
) -> None:
    """A streamed session through SDK 4.189.0, checked on both sides."""
    emulator.config.type_field = type_field
    audio_file = tmp_path / "stream.mp3"
    result = await TELNYX.run_sdk(emulator, "stream", audio_out=audio_file)
    assert result["sdk_version"] == "4.189.0"

    # What the emulator saw.
    (record,) = emulator.sessions
    assert emulator.sessions_started == 1
    (upgrade,) = emulator.requests
    assert upgrade.websocket
    assert upgrade.path == STREAM_PATH
    assert upgrade.headers["authorization"] == REDACTED
    assert record.query == {"voice": VOICE, "audio_format": "mp3"}
    assert record.voice == VOICE
    assert (record.audio_format, record.sample_rate) == ("mp3", RATE)
    assert record.handshake
    assert record.voice_settings == {"voice_speed": 1.1}
    assert record.messages[0] == {"text": " ", "voice_settings": {"voice_speed": 1.1}}
    assert record.messages[-2] == {"text": SDK_FLUSHED, "flush": True}
    assert record.messages[-1] == {"text": ""}
    assert result["sent"] == "".join(SDK_PARTS) + SDK_FLUSHED
    assert record.text_parts == [*SDK_PARTS, SDK_FLUSHED]
    assert record.text == result["sent"]
    # Sentences are spoken as they complete; the flush speaks the fragment.
    assert record.segments == SDK_SEGMENTS
    assert "".join(record.segments) == record.text
    assert record.flushes == 1
    assert record.keepalives == 0
    assert record.finished
    assert not record.client_closed
    assert not record.timed_out
    assert record.error is None
    assert record.close_code == 1000
    assert record.ended.is_set()

    # What the SDK saw: per sentence, streamed chunks, a text frame, a final.
    events = result["events"]
    assert result["close"] == {
        "exception": "ConnectionClosedOK",
        "code": 1000,
        "reason": "",
    }
    chunk_class = "AudioChunkFrame"
    final_class = "FinalFrameEvent" if type_field else "AudioChunkFrame"
    audio_events = [e for e in events if e["audio_bytes"]]
    assert len(audio_events) == record.chunks_sent
    assert sum(e["audio_bytes"] for e in audio_events) == record.audio_bytes_sent
    assert result["audio_bytes"] == record.audio_bytes_sent > 0
    for event in audio_events:
        assert event["class"] == chunk_class
        assert event["type"] == ("audio_chunk" if type_field else None)
        assert event["text"] is None
        assert event["is_final"] is False
        assert event["cached"] is False
    # Only the first audio frame of the session carries the latency.
    assert isinstance(events[0]["ttfa_ms"], int)
    assert events[0]["audio_bytes"]
    assert all(e["ttfa_ms"] is None for e in events[1:])
    texts = [e for e in events if e["audio_bytes"] is None and not e["is_final"]]
    assert [e["text"] for e in texts] == SDK_SEGMENTS
    assert {e["class"] for e in texts} == {chunk_class}
    final_events = [e for e in events if e["is_final"]]
    assert len(final_events) == 3
    for event in final_events:
        assert event["class"] == final_class
        assert event["type"] == ("final" if type_field else None)
        assert event["text"] == ""
        assert event["audio_bytes"] is None
    assert events[-1]["is_final"]
    assert not any(e["error"] for e in events)

    # The audio: each sentence decodes to its own length.
    audio = audio_file.read_bytes()
    assert len(audio) == result["audio_bytes"]
    assert synth.mp3_frame_sample_rate(audio[:4]) == RATE
    assert_mp3_duration(await decode_seconds(audio, RATE), SDK_SEGMENTS, RATE)
    offset = 0
    for segment, text_event in zip(SDK_SEGMENTS, texts, strict=True):
        end = events.index(text_event)
        start = max(
            (i + 1 for i, e in enumerate(events[:end]) if e["is_final"]), default=0
        )
        size = sum(e["audio_bytes"] for e in events[start:end])
        piece = audio[offset : offset + size]
        offset += size
        assert piece == expected_mp3(segment)
        assert_mp3_duration(await decode_seconds(piece, RATE), [segment], RATE)
    assert offset == len(audio)


async def test_sdk_force_interrupts(emulator: TelnyxEmulator, tmp_path: Path) -> None:
    """{"force": true} stops the sentence being spoken; the next one plays whole."""
    # Paced, so the client's interrupt lands while the long sentence is playing.
    emulator.config.speed = 4.0
    audio_file = tmp_path / "force.mp3"
    result = await TELNYX.run_sdk(emulator, "force", audio_out=audio_file)

    (record,) = emulator.sessions
    assert record.forces == 1
    assert {"force": True} in record.messages
    assert record.segments == [FORCE_DROPPED, FORCE_KEPT]
    assert record.interrupted == [FORCE_DROPPED]
    assert record.text == FORCE_DROPPED + FORCE_KEPT
    assert record.finished
    assert record.close_code == 1000
    assert not record.client_closed

    events = result["events"]
    assert result["forced_after_events"] >= 1
    assert result["close"]["code"] == 1000
    # The interrupted sentence gets neither its text frame nor a final.
    texts = [
        e["text"] for e in events if e["audio_bytes"] is None and not e["is_final"]
    ]
    assert texts == [FORCE_KEPT]
    assert [e["is_final"] for e in events].count(True) == 1
    assert events[-1]["is_final"]
    audio = audio_file.read_bytes()
    assert len(audio) == record.audio_bytes_sent
    kept = expected_mp3(FORCE_KEPT)
    assert audio.endswith(kept)
    dropped = audio[: -len(kept)]
    assert dropped
    assert len(dropped) < len(expected_mp3(FORCE_DROPPED)) // 2
    decoded = await decode_seconds(audio, RATE)
    assert (
        synth.audio_seconds(FORCE_KEPT)
        < decoded
        < synth.audio_seconds(FORCE_KEPT) + synth.audio_seconds(FORCE_DROPPED) / 2
    )


async def test_sdk_list_voices(emulator: TelnyxEmulator) -> None:
    """list_voices parses the catalogue into Voice models; provider filters it."""
    result = await TELNYX.run_sdk(emulator, "voices")
    assert result["class"] == "TextToSpeechListVoicesResponse"
    assert result["voice_classes"] == ["Voice"]
    assert result["voices"] == default_voices()
    assert result["telnyx_voices"] == [
        v for v in default_voices() if v["provider"] == "telnyx"
    ]
    assert all(v["hosted"] for v in result["telnyx_voices"])
    rest = [r for r in emulator.requests if not r.websocket]
    assert [(r.path, r.query) for r in rest] == [
        (VOICES_PATH, {}),
        (VOICES_PATH, {"provider": "telnyx"}),
    ]
    assert all(r.headers["authorization"] == REDACTED for r in rest)
    assert not emulator.sessions


REFUSED_VOICES = [
    ("Telnyx.Ultra.nova", 403, "Ultra voices are not available over WebSocket"),
    ("Telnyx.NaturalHD.nobody", 400, "Voice 'Telnyx.NaturalHD.nobody'"),
    ("astra", 400, "Invalid voice format 'astra'"),
]


async def test_sdk_refused_voices(emulator: TelnyxEmulator) -> None:
    """Voices the WebSocket refuses reach the SDK as the upgrade's HTTP status."""
    options = [arg for voice, _, _ in REFUSED_VOICES for arg in ("--voice", voice)]
    result = await TELNYX.run_sdk(emulator, "refused", *options)
    errors = result["stream_errors"]
    for voice, status, detail in REFUSED_VOICES:
        error = errors[voice]
        assert error["exception"] == "InvalidStatus"
        assert error["status_code"] == status
        (entry,) = error["body"]["errors"]
        assert detail in entry["detail"]
        assert entry["code"] == ("10010" if status == 403 else "10015")
    assert not emulator.sessions
    assert [s for s, _ in emulator.rejections] == [s for _, s, _ in REFUSED_VOICES]
    upgrades = [r for r in emulator.requests if r.websocket]
    assert [r.query["voice"] for r in upgrades] == [v for v, _, _ in REFUSED_VOICES]


@pytest.mark.parametrize("type_field", [False, True])
async def test_sdk_error_frame(
    emulator: TelnyxEmulator, tmp_path: Path, type_field: bool
) -> None:
    """error_after_chunks: the SDK gets the chunks, an ErrorFrame, then a 1011 close."""
    emulator.config.error_after_chunks = 2
    emulator.config.type_field = type_field
    audio_file = tmp_path / "error.mp3"
    result = await TELNYX.run_sdk(emulator, "error", audio_out=audio_file)
    events = result["events"]
    assert [bool(e["audio_bytes"]) for e in events] == [True, True, False]
    error = events[-1]
    assert error["class"] == "ErrorFrame"
    assert error["error"] == AUDIO_ERROR
    assert error["type"] == ("error" if type_field else None)
    # 1011 is not a clean close, so the SDK's iterator raises.
    assert result["raised"]
    assert result["close"] == {
        "exception": "ConnectionClosedError",
        "code": 1011,
        "reason": "",
    }
    (record,) = emulator.sessions
    assert record.error == AUDIO_ERROR
    assert record.close_code == 1011
    assert record.chunks_sent == 2
    assert record.segments == [ERROR_TEXT]
    assert not record.client_closed
    audio = audio_file.read_bytes()
    assert len(audio) == record.audio_bytes_sent
    assert expected_mp3(ERROR_TEXT).startswith(audio)


async def test_sdk_idle_timeout(emulator: TelnyxEmulator) -> None:
    """inactivity_timeout from the query: the SDK's iteration ends on a clean close."""
    result = await TELNYX.run_sdk(emulator, "idle")
    assert result["events"] == []
    assert result["close"] == {
        "exception": "ConnectionClosedOK",
        "code": 1000,
        "reason": IDLE_CLOSE_REASON,
    }
    (record,) = emulator.sessions
    assert record.inactivity_timeout == 0.3
    assert record.query["inactivity_timeout"] == "0.3"
    assert record.handshake
    assert record.timed_out
    assert not record.client_closed
    assert not record.finished
    assert record.segments == []


# Upgrade checks on the wire


@pytest.mark.parametrize(
    ("query", "headers", "status", "detail"),
    [
        ({"voice": VOICE}, {}, 401, "Could not understand the provided credentials."),
        (
            {"voice": VOICE},
            {"Authorization": "Basic dGVzdC1rZXk="},
            401,
            "Could not understand the provided credentials.",
        ),
        (
            {"voice": VOICE},
            {"Authorization": "Bearer nope"},
            401,
            "The API key you provided is invalid.",
        ),
        ({}, None, 400, "A voice is required"),
        ({"voice": "astra"}, None, 400, "Invalid voice format"),
        ({"voice": "a.b.c.d"}, None, 400, "Invalid voice format"),
        ({"voice": "Telnyx.Natural HD.astra"}, None, 400, "Invalid voice format"),
        ({"voice": "Telnyx.Ultra.nova"}, None, 403, "not available over WebSocket"),
        ({"voice": "Telnyx.Ultra.other"}, None, 403, "not available over WebSocket"),
        ({"voice": "Telnyx.NaturalHD.zed"}, None, 400, "'Telnyx.NaturalHD.zed'"),
        ({"voice": VOICE, "audio_format": "flac"}, None, 400, "Invalid audio_format"),
        ({"voice": VOICE, "audio_format": "wav"}, None, 400, "not supported"),
        ({"voice": VOICE, "sample_rate": "12345"}, None, 400, "sample_rate"),
        ({"voice": VOICE, "sample_rate": "fast"}, None, 400, "sample_rate"),
        ({"voice": VOICE, "sample_rate": "96000"}, None, 400, "not available for mp3"),
        ({"voice": VOICE, "inactivity_timeout": "0"}, None, 400, "inactivity_timeout"),
        ({"voice": VOICE, "inactivity_timeout": "x"}, None, 400, "inactivity_timeout"),
        (
            {"voice": VOICE, "inactivity_timeout": "inf"},
            None,
            400,
            "inactivity_timeout",
        ),
    ],
)
async def test_upgrade_rejections(
    emulator: TelnyxEmulator,
    http: aiohttp.ClientSession,
    query: dict[str, str],
    headers: dict[str, str] | None,
    status: int,
    detail: str,
) -> None:
    """Refused upgrades are plain HTTP errors with a Telnyx errors body."""
    if headers is None:
        headers = {"Authorization": f"Bearer {API_KEY}"}
    async with http.get(
        emulator.base_url + STREAM_PATH,
        params=query,
        headers=UPGRADE_HEADERS | headers,
    ) as response:
        assert response.status == status
        body = await response.json()
    (entry,) = body["errors"]
    assert set(entry) == {"code", "title", "detail"}
    assert detail in entry["detail"]
    assert emulator.rejections == [(status, entry["detail"])]
    assert not emulator.sessions
    assert emulator.requests[0].websocket
    assert emulator.requests[0].query == query


async def test_upgrade_rejection_through_ws_client(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """A WebSocket client sees the refusal as a failed handshake."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await open_ws(http, emulator, voice="Telnyx.Ultra.nova")
    assert caught.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await open_ws(http, emulator, key="nope")
    assert caught.value.status == 401
    assert emulator.sessions_started == 0


async def test_any_key_when_api_keys_is_none(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """api_keys=None accepts any non-empty key."""
    emulator.config.api_keys = None
    ws = await open_ws(http, emulator, key="whatever")
    await send_all(ws, handshake(), {"text": "Hi."}, {"text": ""})
    frames = await receive_all(ws)
    assert finals(frames) == 1
    assert emulator.sessions[0].segments == ["Hi."]


@pytest.mark.parametrize(
    ("query", "voice"),
    [
        ({"voice": "telnyx.NaturalHD.luna"}, "telnyx.NaturalHD.luna"),
        (
            {
                "voice": None,
                "provider": "telnyx",
                "model_id": "Natural",
                "voice_id": "allison",
            },
            "telnyx.Natural.allison",
        ),
        (
            {
                "voice": None,
                "provider": "azure",
                "voice_id": "en-US-AvaMultilingualNeural",
            },
            "azure.en-US-AvaMultilingualNeural",
        ),
        ({"voice": "AWS.Polly.Danielle-Neural"}, "AWS.Polly.Danielle-Neural"),
    ],
)
async def test_voice_forms(
    emulator: TelnyxEmulator,
    http: aiohttp.ClientSession,
    query: dict[str, str | None],
    voice: str,
) -> None:
    """Compound ids in either case of provider, or built from separate parameters."""
    params = {k: v for k, v in query.items() if v is not None}
    ws = await http.ws_connect(
        emulator.ws_base_url + STREAM_PATH,
        params=params,
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    await send_all(ws, handshake(), {"text": ""})
    await receive_all(ws)
    (record,) = emulator.sessions
    assert record.voice == voice
    assert record.query == params


# Text handling


def test_sentence_end() -> None:
    """A sentence ends at . ! ? … or 。 followed by whitespace or the end."""
    assert sentence_end("Hello there") == 0
    assert sentence_end("Hello there.") == 12
    assert sentence_end("One. Two") == 4
    assert sentence_end("One. Two! Three") == 9
    assert sentence_end("Costs 3.5 each") == 0
    assert sentence_end("Really?!") == 8
    assert sentence_end("Wait\u2026 what") == 5
    assert sentence_end("\u3053\u3093\u306b\u3061\u306f\u3002") == 6
    assert sentence_end("see example.com now") == 0
    assert sentence_end("") == 0


async def test_sentences_spoken_as_they_complete(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """Nothing is spoken mid-sentence; each completed sentence is spoken at once."""
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(ws, handshake(), {"text": "It costs 3."}, {"text": "5 dollars"})
    # "3." ends the buffer, so it counts as a sentence end, like the live server.
    first = [await receive_json(ws)]
    while not first[-1].get("isFinal"):
        first.append(await receive_json(ws))
    assert text_frames(first) == ["It costs 3."]
    await send_all(
        ws,
        {"text": " each. Wait\u2026 what"},
        {"text": "? No"},
        {"text": ""},
    )
    rest = await receive_all(ws)
    record = emulator.sessions[0]
    assert record.segments == [
        "It costs 3.",
        "5 dollars each. Wait\u2026",
        " what?",
        " No",
    ]
    assert text_frames(rest) == record.segments[1:]
    assert finals(rest) == 3
    assert len(audio_of(first + rest)) == 2 * sum(
        synth.sample_count(s, RATE) for s in record.segments
    )


async def test_text_before_handshake_is_never_spoken(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """Without the handshake no audio is produced, flush and end of input included."""
    ws = await open_ws(http, emulator)
    await send_all(
        ws, {"text": "Early sentence."}, {"text": " More", "flush": True}, {"text": ""}
    )
    frames = await receive_all(ws)
    assert frames == [{"audio": None, "isFinal": True, "text": ""}]
    assert ws.close_code == 1000
    record = emulator.sessions[0]
    assert not record.handshake
    assert record.segments == []
    assert record.text == "Early sentence. More"
    assert record.flushes == 1
    assert record.finished


async def test_text_before_handshake_waits_for_it(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """Text sent early is held and spoken once the handshake arrives."""
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(
        ws,
        {"text": "Early sentence."},
        handshake(voice_speed=0.9),
        {"text": " Later."},
        {"text": ""},
    )
    frames = await receive_all(ws)
    record = emulator.sessions[0]
    assert record.handshake
    assert record.voice_settings == {"voice_speed": 0.9}
    assert record.segments == ["Early sentence.", " Later."]
    assert text_frames(frames) == record.segments
    assert record.text == "Early sentence. Later."


async def test_keepalives_counted_and_spaced(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """A " " after the handshake is a keep-alive: counted, kept as a space, not text."""
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(
        ws,
        handshake(),
        {"text": "Hello"},
        {"text": " "},
        {"text": "world."},
        {"text": " "},
        {"text": ""},
    )
    frames = await receive_all(ws)
    record = emulator.sessions[0]
    assert record.keepalives == 2
    assert record.text_parts == ["Hello", "world."]
    assert record.text == "Helloworld."
    # The trailing keep-alive leaves only whitespace: nothing more to say.
    assert record.segments == ["Hello world."]
    assert len(audio_of(frames)) == 2 * synth.sample_count("Hello world.", RATE)
    assert finals(frames) == 1
    assert len(record.messages) == 6


async def test_flush_speaks_partial_sentence(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """flush: true speaks the buffer, its own text included; the socket stays open."""
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(
        ws, handshake(), {"text": "No sentence end"}, {"text": " yet", "flush": True}
    )
    frames = [await receive_json(ws)]
    while not frames[-1].get("isFinal"):
        frames.append(await receive_json(ws))
    assert text_frames(frames) == ["No sentence end yet"]
    assert not ws.closed
    await send_all(ws, {"text": "", "flush": True})  # an empty flush is still the end
    frames += await receive_all(ws)
    record = emulator.sessions[0]
    assert record.segments == ["No sentence end yet"]
    assert record.flushes == 1
    assert record.finished
    assert ws.close_code == 1000


async def test_force_drops_buffered_text(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """A force drops the buffer; with empty text it is not the end of input."""
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(
        ws,
        handshake(voice_speed=1.2),
        {"text": "Buffered but"},
        {"force": True},
        {"text": "never said"},
        {"text": "", "force": True},
        {"text": "Fresh start.", "force": False},
        {"text": ""},
    )
    frames = await receive_all(ws)
    record = emulator.sessions[0]
    assert record.forces == 2
    assert record.segments == ["Fresh start."]
    assert record.interrupted == []
    assert record.text == "Buffered butnever saidFresh start."
    assert record.voice_settings == {"voice_speed": 1.2}  # kept across forces
    assert text_frames(frames) == ["Fresh start."]
    assert len(audio_of(frames)) == 2 * synth.sample_count("Fresh start.", RATE)
    assert ws.close_code == 1000


async def test_force_before_handshake_drops_early_text(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """Text held for the handshake is gone once a force arrives first."""
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(
        ws,
        {"text": "Early words."},
        {"force": True},
        handshake(),
        {"text": "Kept."},
        {"text": ""},
    )
    frames = await receive_all(ws)
    record = emulator.sessions[0]
    assert record.segments == ["Kept."]
    assert record.interrupted == []
    assert text_frames(frames) == ["Kept."]
    assert record.text == "Early words.Kept."


async def test_force_with_text_replaces_the_buffer(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """{"text": ..., "force": true} interrupts, then starts on its own text."""
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(
        ws,
        handshake(),
        {"text": "Old words"},
        {"text": "New words.", "force": True},
        {"text": ""},
    )
    frames = await receive_all(ws)
    assert emulator.sessions[0].segments == ["New words."]
    assert text_frames(frames) == ["New words."]


async def test_force_interrupts_speech_in_flight(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """A force stops paced audio mid-sentence and keeps the socket open."""
    emulator.config.speed = 4.0
    long_text = (
        "This long sentence would take a while to speak at four times real time."
    )
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(ws, handshake(), {"text": long_text})
    first = await receive_json(ws)
    assert first["audio"]
    await send_all(ws, {"force": True})
    await send_all(ws, {"text": "Next."})
    frames = [first]
    while not frames[-1].get("isFinal"):
        frames.append(await receive_json(ws))
    assert not ws.closed
    record = emulator.sessions[0]
    assert record.interrupted == [long_text]
    assert text_frames(frames) == ["Next."]
    assert finals(frames) == 1
    next_bytes = 2 * synth.sample_count("Next.", RATE)
    audio = audio_of(frames)
    assert audio.endswith(synth.synthesize_pcm("Next.", RATE))
    assert len(audio) - next_bytes < 2 * synth.sample_count(long_text, RATE) // 2
    await send_all(ws, {"text": ""})
    assert await receive_all(ws) == []  # the last frame sent was already a final
    assert ws.close_code == 1000


# Switches for behaviour the public sources leave open


@pytest.mark.parametrize("enabled", [True, False])
async def test_text_frames_switch(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession, enabled: bool
) -> None:
    """text_frames adds one audio-null frame carrying each sentence, after its chunks."""
    emulator.config.text_frames = enabled
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(ws, handshake(), {"text": "One. Two"}, {"text": ""})
    frames = await receive_all(ws)
    if enabled:
        assert text_frames(frames) == ["One.", " Two"]
        for index, frame in enumerate(frames):
            if frame["audio"] is None and not frame["isFinal"]:
                assert frame == {
                    "audio": None,
                    "text": frame["text"],
                    "isFinal": False,
                    "cached": False,
                }
                assert frames[index - 1]["audio"]  # after the streamed chunks
                assert frames[index + 1]["isFinal"]
    else:
        assert text_frames(frames) == []
        assert all(f["audio"] or f["isFinal"] for f in frames)
    assert finals(frames) == 2


@pytest.mark.parametrize("each", [True, False])
async def test_final_after_each_synthesis_switch(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession, each: bool
) -> None:
    """Finals after every synthesis, or only one right before the close."""
    emulator.config.final_after_each_synthesis = each
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(
        ws,
        handshake(),
        {"text": "First. Second!"},
        {"text": " Third", "flush": True},
        {"text": " Fourth?"},
        {"text": ""},
    )
    frames = await receive_all(ws)
    record = emulator.sessions[0]
    assert record.segments == ["First. Second!", " Third", " Fourth?"]
    assert frames[-1] == {"audio": None, "isFinal": True, "text": ""}
    assert finals(frames) == (3 if each else 1)
    assert ws.close_code == 1000


async def test_final_before_close_when_nothing_is_left(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """End of input always closes right after a final frame, never two in a row."""
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(ws, handshake(), {"text": ""})
    assert await receive_all(ws) == [{"audio": None, "isFinal": True, "text": ""}]
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(ws, handshake(), {"text": "Done."}, {"text": ""})
    frames = await receive_all(ws)
    assert finals(frames) == 1
    assert frames[-1]["isFinal"]


@pytest.mark.parametrize("type_field", [True, False])
async def test_type_field_switch(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession, type_field: bool
) -> None:
    """type_field adds audio_chunk/final/error discriminators to every frame."""
    emulator.config.type_field = type_field
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(ws, handshake(), {"text": "Typed."}, {"text": ""})
    frames = await receive_all(ws)
    types = [f.get("type") for f in frames]
    if type_field:
        assert set(types[:-1]) == {"audio_chunk"}
        assert types[-1] == "final"
    else:
        assert all("type" not in f for f in frames)
    emulator.config.error_after_chunks = 0
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(ws, handshake(), {"text": "Fails."})
    error = await receive_all(ws)
    expected = {"error": AUDIO_ERROR, **({"type": "error"} if type_field else {})}
    assert error == [expected]


@pytest.mark.parametrize("resets", [True, False])
async def test_keepalive_resets_idle_switch(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession, resets: bool
) -> None:
    """Keep-alives hold the session open only when keepalive_resets_idle is on."""
    emulator.config.keepalive_resets_idle = resets
    ws = await open_ws(
        http, emulator, audio_format="linear16", inactivity_timeout="0.3"
    )
    await send_all(ws, handshake())
    for _ in range(6):  # 0.6 s of keep-alives, twice the timeout
        await asyncio.sleep(0.1)
        if ws.closed:
            break
        try:
            await send_all(ws, {"text": " "})
        except ConnectionError:
            break
    record = emulator.sessions[0]
    if resets:
        assert not ws.closed
        assert not record.timed_out
        await send_all(ws, {"text": "Still here."}, {"text": ""})
        frames = await receive_all(ws)
        assert ws.close_code == 1000
        assert record.keepalives == 6
        assert record.segments == [" " * 6 + "Still here."]
        assert text_frames(frames) == record.segments
    else:
        close = await receive_close(ws)
        assert (close.data, close.extra) == (1000, IDLE_CLOSE_REASON)
        assert record.timed_out
        # The server stopped reading 0.3 s after the handshake, keep-alives or not.
        assert 1 <= record.keepalives < 6
    async with asyncio.timeout(2):
        await record.ended.wait()
    assert not record.client_closed


async def test_text_resets_idle_and_config_default(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """config.idle_timeout applies without the query; any text restarts the timer."""
    emulator.config.idle_timeout = 0.3
    emulator.config.keepalive_resets_idle = False
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(ws, handshake())
    for word in ("one", " two", " three", " four", " five"):
        await asyncio.sleep(0.1)
        await send_all(ws, {"text": word})
    # 0.5 s have passed, but never 0.3 s without a frame.
    assert not emulator.sessions[0].timed_out
    close = await receive_close(ws)
    assert (close.data, close.extra) == (1000, IDLE_CLOSE_REASON)
    record = emulator.sessions[0]
    assert record.inactivity_timeout == 0.3
    assert record.timed_out
    assert record.text == "one two three four five"
    assert record.segments == []  # never a sentence end, never flushed


async def test_query_timeout_overrides_config(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """inactivity_timeout in the query wins over config.idle_timeout."""
    emulator.config.idle_timeout = 60.0
    ws = await open_ws(http, emulator, inactivity_timeout="0.2")
    close = await receive_close(ws)  # no handshake: idle from the upgrade on
    assert (close.data, close.extra) == (1000, IDLE_CLOSE_REASON)
    record = emulator.sessions[0]
    assert record.inactivity_timeout == 0.2
    assert not record.handshake
    assert record.timed_out


async def test_no_idle_close_after_end_of_input(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """Once the input has ended the server finishes speaking whatever the timeout."""
    emulator.config.speed = 4.0
    text = "Two seconds of audio take half a second."  # 2.4 s → 0.6 s
    ws = await open_ws(
        http, emulator, audio_format="linear16", inactivity_timeout="0.2"
    )
    await send_all(ws, handshake(), {"text": text}, {"text": ""})
    frames = await receive_all(ws)
    assert ws.close_code == 1000
    assert len(audio_of(frames)) == 2 * synth.sample_count(text, RATE)
    assert not emulator.sessions[0].timed_out


# Audio


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100, 48000, 96000])
async def test_linear16(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession, rate: int
) -> None:
    """linear16 is raw PCM16 LE at the requested rate, exactly as long as the text."""
    segments = ["Testing one two.", " Three four five six seven"]
    ws = await open_ws(http, emulator, audio_format="linear16", sample_rate=str(rate))
    await send_all(ws, handshake(), {"text": "".join(segments)}, {"text": ""})
    frames = await receive_all(ws)
    record = emulator.sessions[0]
    assert (record.audio_format, record.sample_rate) == ("linear16", rate)
    assert record.segments == segments
    chunks = [base64.b64decode(f["audio"]) for f in audio_frames(frames)]
    assert len(chunks[0]) == 2 * round(0.1 * rate)  # 0.1 s per message
    audio = b"".join(chunks)
    assert audio == b"".join(synth.synthesize_pcm(s, rate) for s in segments)
    assert len(chunks) == record.chunks_sent
    assert len(audio) == record.audio_bytes_sent
    decoded = await decode_seconds(audio, rate, fmt="s16le")
    assert decoded == pytest.approx(synth.audio_seconds("".join(segments)), abs=1e-3)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100, 48000])
async def test_mp3_whole_frames(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession, rate: int
) -> None:
    """MP3 (the default) holds whole frames per message; each sentence decodes alone."""
    segments = ["An mp3 test sentence.", " And one more after it!"]
    ws = await open_ws(http, emulator, sample_rate=str(rate))
    await send_all(ws, handshake(), *({"text": s} for s in segments), {"text": ""})
    frames = await receive_all(ws)
    assert emulator.sessions[0].audio_format == "mp3"
    chunks = [base64.b64decode(f["audio"]) for f in audio_frames(frames)]
    assert len(chunks) > 4
    for chunk in chunks:
        assert synth.split_mp3_frames(chunk) == (chunk, b"")
        assert synth.mp3_frame_sample_rate(chunk[:4]) == rate
    decoded = await decode_seconds(b"".join(chunks), rate)
    assert_mp3_duration(decoded, segments, rate)


async def test_time_to_first_audio(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """first_audio_latency delays every synthesis; only the first frame reports it."""
    emulator.config.first_audio_latency = 0.1
    ws = await open_ws(http, emulator, audio_format="linear16")
    started = time.monotonic()
    await send_all(ws, handshake(), {"text": "One. Two."}, {"text": " Three."})
    first = await receive_json(ws)
    assert time.monotonic() - started >= 0.1
    assert first["timeToFirstAudioFrameMs"] >= 100
    await send_all(ws, {"text": ""})
    frames = [first, *await receive_all(ws)]
    assert sum("timeToFirstAudioFrameMs" in f for f in frames) == 1
    assert emulator.sessions[0].segments == ["One. Two.", " Three."]
    assert time.monotonic() - started >= 0.2  # once per synthesis


async def test_speed_paces_delivery(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """speed releases audio no faster than that multiple of real time."""
    emulator.config.speed = 4.0
    text = "Twenty characters!!!"  # 1.2 s of audio: the last 1.1 s take 0.275 s
    ws = await open_ws(http, emulator, audio_format="linear16")
    await send_all(ws, handshake(), {"text": text}, {"text": ""})
    started = time.monotonic()
    frames = await receive_all(ws)
    assert time.monotonic() - started >= 0.25
    assert len(audio_of(frames)) == 2 * synth.sample_count(text, RATE)


# Malformed messages


@pytest.mark.parametrize(
    ("send", "message"),
    [
        ("not json", "messages must be JSON"),
        ("[1, 2]", "messages must be JSON objects"),
        ('{"flush": true}', "text is required"),
        ('{"text": 5}', "text must be a string"),
        (b"\x00\x01", "binary messages are not accepted; send JSON"),
    ],
)
async def test_malformed_messages(
    emulator: TelnyxEmulator,
    http: aiohttp.ClientSession,
    send: str | bytes,
    message: str,
) -> None:
    """A malformed client message gets one error frame and a 1008 close."""
    ws = await open_ws(http, emulator)
    await send_all(ws, handshake())
    if isinstance(send, bytes):
        await ws.send_bytes(send)
    else:
        await ws.send_str(send)
    assert await receive_all(ws) == [{"error": message}]
    assert ws.close_code == 1008
    assert emulator.sessions[0].error == message


# Lifecycle


async def test_sessions_are_recorded_in_order(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """One record per connection, appended on connect; wait_for_session finds it."""
    first = await open_ws(http, emulator, voice="Telnyx.NaturalHD.luna")
    second = await open_ws(http, emulator, voice="Telnyx.KokoroTTS.af_heart")
    async with asyncio.timeout(2):
        record = await emulator.wait_for_session(1)
    assert record.voice == "Telnyx.KokoroTTS.af_heart"
    assert emulator.sessions_started == 2
    assert [s.voice for s in emulator.sessions] == [
        "Telnyx.NaturalHD.luna",
        "Telnyx.KokoroTTS.af_heart",
    ]
    await first.close()
    await second.close()
    async with asyncio.timeout(2):
        await emulator.wait_closed()
    assert all(s.client_closed and s.ended.is_set() for s in emulator.sessions)


# REST


async def test_rest_voices(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession
) -> None:
    """The voice list: its shape, the provider filter, auth, and config changes."""
    headers = {"Authorization": f"Bearer {API_KEY}"}

    async def get(**query: str) -> tuple[int, Any]:
        async with http.get(
            emulator.base_url + VOICES_PATH, headers=headers, params=query
        ) as response:
            return response.status, await response.json()

    status, body = await get()
    assert status == 200
    voices = body["voices"]
    assert {v["voice_id"] for v in voices} >= {
        "Telnyx.NaturalHD.astra",
        "Telnyx.NaturalHD.luna",
        "Telnyx.Natural.allison",
        "Telnyx.KokoroTTS.af_heart",
        "Telnyx.Ultra.nova",
        "AWS.Polly.Danielle-Neural",
        "azure.en-US-AvaMultilingualNeural",
    }
    for voice in voices:
        assert set(voice) == {
            "voice_id", "name", "provider", "language", "gender", "hosted",
        }  # fmt: skip
        assert voice["hosted"] is (voice["provider"] == "telnyx")
    assert {v["language"] for v in voices} >= {"en-US", "de-DE"}
    aws = (await get(provider="AWS"))[1]["voices"]
    assert {v["provider"] for v in aws} == {"aws"}
    assert (await get(provider="nobody"))[1] == {"voices": []}
    assert emulator.requests[1].query == {"provider": "AWS"}

    headers = {"Authorization": "Bearer wrong"}
    status, body = await get()
    assert status == 401
    assert body["errors"][0]["code"] == "10009"
    headers = {}
    assert (await get())[0] == 401

    headers = {"Authorization": f"Bearer {API_KEY}"}
    emulator.config.voices = [voices[1]]
    assert await get() == (200, {"voices": [voices[1]]})


@pytest.mark.parametrize("status", [402, 429, 500, 503])
async def test_rest_status_override(
    emulator: TelnyxEmulator, http: aiohttp.ClientSession, status: int
) -> None:
    """rest_status_override answers every REST call with that status, even unauthenticated."""
    emulator.config.rest_status_override = status
    async with http.get(emulator.base_url + VOICES_PATH) as response:
        assert response.status == status
        (entry,) = (await response.json())["errors"]
    assert entry["detail"] == f"emulated HTTP {status}"
    assert entry["code"] == {429: "10011", 500: "10007", 503: "10007"}.get(
        status, "402"
    )
