"""The LMNT emulator against the official SDK (lmnt 2.13.0) and on the raw wire.

The SDK runs in its own interpreter; see tests/sdk/helpers.py.
"""

from __future__ import annotations

import array
from collections.abc import AsyncIterator
import itertools
from pathlib import Path
import struct
import sys
import time
from typing import Any

import aiohttp
import pytest

from tests.emulators import LmntEmulator, LmntEmulatorConfig, synth
from tests.emulators.base import REDACTED
from tests.sdk.helpers import assert_mp3_duration, decode_seconds
from tests.sdk.providers import API_KEY
from tests.sdk.providers.lmnt import (
    LMNT,
    Frame,
    audio_of,
    init_message,
    open_session,
    receive_all,
    receive_frame,
)
from tests.sdk.wire import send_all

# pytest-homeassistant-custom-component blocks socket creation by default.
pytestmark = pytest.mark.usefixtures("socket_enabled")

# What the SDK client script sends (see clients/lmnt_sdk_client.py).
SDK_FIRST = "Hello there, this is a test of the emer"
SDK_SECOND = "gency broadcast system."


async def receive_json(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """Read one frame that must be JSON."""
    frame = await receive_frame(ws)
    assert isinstance(frame, dict), frame
    return frame


async def receive_audio(ws: aiohttp.ClientWebSocketResponse) -> bytes:
    """Read one frame that must be audio."""
    frame = await receive_frame(ws)
    assert isinstance(frame, bytes), frame
    return frame


def json_of(frames: list[Frame]) -> list[dict[str, Any]]:
    """Return the JSON frames."""
    return [f for f in frames if isinstance(f, dict)]


@pytest.fixture
async def emulator() -> AsyncIterator[LmntEmulator]:
    """A running emulator that accepts API_KEY."""
    async with LmntEmulator(LmntEmulatorConfig(api_keys={API_KEY})) as server:
        yield server


# The official SDK


async def test_sdk_session_end_to_end(emulator: LmntEmulator, tmp_path: Path) -> None:
    """REST and a streamed session through SDK 2.13.0, checked on both sides."""
    audio_file = tmp_path / "session.mp3"
    result = await LMNT.run_sdk(emulator, "session", audio_out=audio_file)
    assert result["sdk_version"] == "2.13.0"

    # What the emulator saw.
    (record,) = emulator.sessions
    assert emulator.sessions_started == 1
    assert record.init == {
        "X-API-Key": API_KEY,
        "lmnt-version": "1.2",
        "voice": "leah",
        "format": "mp3",
        "language": "en",
        "return_timestamps": True,
        "sample_rate": 24000,
    }
    assert record.generation == "C"
    assert result["sent_first"] == SDK_FIRST
    assert result["sent_second"] == SDK_SECOND
    assert record.text == SDK_FIRST + SDK_SECOND
    assert len(record.text_parts) == 5  # split mid-word by the client
    assert record.flush_nonces == [1]
    assert record.segments == [SDK_FIRST, SDK_SECOND]
    assert record.finished
    assert not record.client_closed
    assert record.ended.is_set()
    assert record.error is None
    rest = [r for r in emulator.requests if not r.websocket]
    assert [r.path for r in rest] == [
        "/v1/ai/voice/list",
        "/v1/ai/voice/list",
        "/v1/ai/voice/leah",
        "/v1/account",
    ]
    assert rest[1].query == {"owner": "all", "starred": "false"}
    for request in rest:
        assert request.headers["lmnt-version"] == "1.2"
        assert request.headers["x-api-key"] == REDACTED

    # What the SDK saw.
    types = result["types"]
    assert types[0] == "ready"
    assert result["ready_request_id"] == result["request_id"] == record.request_id
    assert result["classes"] == [
        "SpeechSessionReady",
        "SpeechSessionAudio",
        "SpeechSessionTimestamps",
        "SpeechSessionFlushComplete",
    ]
    assert result["flush_complete"] == [1]
    assert result["errors"] == []
    flush_at = types.index("flush_complete")
    assert "audio" in types[:flush_at]
    assert "audio" in types[flush_at:]
    # Every audio message is followed by its timestamps.
    for index, kind in enumerate(types):
        if kind == "audio":
            assert types[index + 1] == "timestamps"
    assert types.count("audio") == types.count("timestamps") == record.chunks_sent
    assert result["audio_bytes"] == record.audio_bytes_sent > 0
    assert audio_file.stat().st_size == result["audio_bytes"]
    decoded = await decode_seconds(audio_file.read_bytes(), 24000)
    assert_mp3_duration(decoded, [SDK_FIRST, SDK_SECOND], 24000)

    # Timestamps: every word once, cumulative, back to 0.0 after the flush.
    stamps = [t for message in result["timestamps"] for t in message]
    # The flush splits "emer|gency": the server speaks what it had.
    assert [t["text"] for t in stamps] == SDK_FIRST.split() + SDK_SECOND.split()
    first_words = len(SDK_FIRST.split())
    first, second = stamps[:first_words], stamps[first_words:]
    assert first[0]["start"] == 0.0
    assert second[0] == {"text": "gency", "start": 0.0, "duration": 0.3}
    assert first[1] == {"text": "there,", "start": 0.36, "duration": 0.36}
    assert [t["start"] for t in first] == sorted(t["start"] for t in first)

    # Voices and account parsed into the SDK's models.
    assert result["voice_classes"] == ["Voice"]
    assert [v["id"] for v in result["voices"]] == [
        v["id"] for v in emulator.config.voices
    ]
    assert result["starred_false_count"] == len(emulator.config.voices)
    assert result["voice"]["id"] == "leah"
    assert result["account_class"] == "AccountRetrieveResponse"
    assert result["account"] == emulator.config.account


async def test_sdk_reset(emulator: LmntEmulator, tmp_path: Path) -> None:
    """send_reset drops buffered text; nonces are shared by flush and reset."""
    audio_file = tmp_path / "reset.mp3"
    result = await LMNT.run_sdk(emulator, "reset", audio_out=audio_file)
    (record,) = emulator.sessions
    assert "format" not in record.init  # so the server default, mp3, applies
    assert record.reset_nonces == [1]
    assert record.flush_nonces == [2]
    assert record.segments == ["Only this is spoken."]
    assert result["reset_nonce"] == 1
    assert result["flush_nonce"] == 2
    assert result["reset_complete"] == [1]
    assert result["flush_complete"] == [2]
    types = result["types"]
    assert types[:2] == ["ready", "reset_complete"]
    assert types[-1] == "flush_complete"
    assert "timestamps" not in types
    audio = audio_file.read_bytes()
    assert synth.mp3_frame_length(audio[:4]) is not None
    decoded = await decode_seconds(audio, 24000)
    assert_mp3_duration(decoded, ["Only this is spoken."], 24000)


async def test_sdk_bad_key_session(emulator: LmntEmulator) -> None:
    """A refused key on the session: an error message object, then nothing.

    What REST reports is checked in test_common_sdk.py.
    """
    result = await LMNT.run_sdk(emulator, "bad_key", api_key="wrong-key")
    assert result["types"] == ["error"]
    assert result["classes"] == ["SpeechSessionError"]
    (error,) = result["errors"]
    assert error["error"]["type"] == "authentication_error"
    assert error["error"]["message"] == "Invalid API key"
    (record,) = emulator.sessions
    assert error["request_id"] == record.request_id
    assert result["request_id"] is None  # no ready message was sent
    assert record.error == ("authentication_error", "Invalid API key")
    assert record.audio_bytes_sent == 0


# Gen C on the wire


@pytest.mark.parametrize(
    ("fmt", "rate", "bytes_per_sample"),
    [
        ("pcm_s16le", 24000, 2),
        ("pcm_s16le", 16000, 2),
        ("pcm_s16le", 8000, 2),
        ("pcm_f32le", 16000, 4),
        ("ulaw", 8000, 1),
        ("ulaw", 24000, 1),
    ],
)
async def test_raw_formats_and_rates(
    emulator: LmntEmulator,
    http: aiohttp.ClientSession,
    fmt: str,
    rate: int,
    bytes_per_sample: int,
) -> None:
    """Uncompressed audio is exactly as long as the text; µ-law has one WAV header."""
    first, second = "Testing one two.", " Three four five six seven."
    ws = await open_session(http, emulator, init_message(format=fmt, sample_rate=rate))
    await send_all(
        ws,
        {"type": "text", "text": first},
        {"type": "flush", "nonce": 1},
        {"type": "text", "text": second},
        {"type": "finish"},
    )
    frames = await receive_all(ws)
    assert ws.close_code == 1000
    assert frames[0] == {"type": "ready", "request_id": emulator.sessions[0].request_id}
    assert {"type": "flush_complete", "nonce": 1} in frames
    chunks = [f for f in frames if isinstance(f, bytes)]
    audio = b"".join(chunks)
    samples = synth.sample_count(first, rate) + synth.sample_count(second, rate)
    header = b""
    if fmt == "ulaw":
        header = synth.wav_header(rate, bits_per_sample=8, format_tag=7)
        assert chunks[0].startswith(header)
        assert all(b"RIFF" not in chunk for chunk in chunks[1:])
        assert struct.unpack("<I", header[24:28]) == (rate,)
    assert len(audio) == len(header) + samples * bytes_per_sample
    # 0.1 s of audio per message.
    assert len(chunks[1]) == round(0.1 * rate) * bytes_per_sample
    if fmt == "ulaw":
        decoded = await decode_seconds(audio, rate, fmt="wav")
        assert decoded == pytest.approx(samples / rate, abs=1e-6)


@pytest.mark.parametrize("rate", [24000, 16000, 8000])
async def test_mp3_whole_frames(
    emulator: LmntEmulator, http: aiohttp.ClientSession, rate: int
) -> None:
    """MP3 messages hold whole frames at the requested rate and decode to the text."""
    segments = ["An mp3 test sentence.", " And one more after the flush."]
    ws = await open_session(http, emulator, init_message(sample_rate=rate))
    await send_all(
        ws,
        {"type": "text", "text": segments[0]},
        {"type": "flush", "nonce": 1},
        {"type": "text", "text": segments[1]},
        {"type": "finish"},
    )
    frames = await receive_all(ws)
    chunks = [f for f in frames if isinstance(f, bytes)]
    assert len(chunks) > 4
    for chunk in chunks:
        whole, rest = synth.split_mp3_frames(chunk)
        assert whole == chunk
        assert rest == b""
    assert synth.mp3_frame_sample_rate(chunks[0]) == rate
    decoded = await decode_seconds(b"".join(chunks), rate)
    assert_mp3_duration(decoded, segments, rate)


async def test_reset_drops_buffered_text(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """Text buffered before a reset is never spoken; the ack carries the nonce."""
    ws = await open_session(http, emulator, init_message(format="pcm_s16le"))
    await send_all(
        ws,
        {"type": "text", "text": "Hello there, "},
        {"type": "reset", "nonce": 5},
        {"type": "text", "text": "General Kenobi."},
        {"type": "flush", "nonce": 6},
        {"type": "finish"},
    )
    frames = await receive_all(ws)
    assert frames[1] == {"type": "reset_complete", "nonce": 5}
    assert frames[-1] == {"type": "flush_complete", "nonce": 6}
    assert len(audio_of(frames)) == 2 * synth.sample_count("General Kenobi.", 24000)
    record = emulator.sessions[0]
    assert record.segments == ["General Kenobi."]
    assert record.text == "Hello there, General Kenobi."
    assert record.reset_nonces == [5]


async def test_reset_interrupts_speech_in_flight(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """A reset stops paced audio that is still being sent."""
    emulator.config.speed = 4.0
    text = "This long sentence would take a while to speak at four times real time."
    ws = await open_session(http, emulator, init_message(format="pcm_s16le"))
    await send_all(ws, {"type": "text", "text": text}, {"type": "flush", "nonce": 1})
    assert await receive_frame(ws) == {
        "type": "ready",
        "request_id": emulator.sessions[0].request_id,
    }
    assert await receive_audio(ws)
    await send_all(
        ws,
        {"type": "reset", "nonce": 2},
        {"type": "text", "text": "Next."},
        {"type": "flush", "nonce": 3},
        {"type": "finish"},
    )
    frames = await receive_all(ws)
    acks = json_of(frames)
    assert acks == [
        {"type": "flush_complete", "nonce": 1},
        {"type": "reset_complete", "nonce": 2},
        {"type": "flush_complete", "nonce": 3},
    ]
    # Nothing of the interrupted text after the reset ack; then "Next.".
    reset_at = frames.index({"type": "reset_complete", "nonce": 2})
    assert len(audio_of(frames[reset_at:])) == 2 * synth.sample_count("Next.", 24000)
    assert len(audio_of(frames[:reset_at])) < 2 * synth.sample_count(text, 24000) // 2


@pytest.mark.parametrize("version", ["1.1", "1.2"])
async def test_timestamps_by_api_version(
    emulator: LmntEmulator, http: aiohttp.ClientSession, version: str
) -> None:
    """1.2 timestamps accumulate until a flush; 1.1 ones restart every chunk."""
    ws = await open_session(
        http,
        emulator,
        init_message(
            **{"lmnt-version": version}, format="pcm_s16le", return_timestamps=True
        ),
    )
    await send_all(
        ws,
        {"type": "text", "text": "alpha beta gamma"},
        {"type": "flush", "nonce": 1},
        {"type": "text", "text": "delta epsilon"},
        {"type": "finish"},
    )
    frames = await receive_all(ws)
    # A timestamps message follows every audio message.
    for frame, following in itertools.pairwise(frames):
        if isinstance(frame, bytes):
            assert isinstance(following, dict)
            assert following["type"] == "timestamps"
    stamps = [
        (t["text"], t["start"], t["duration"])
        for f in json_of(frames)
        if f["type"] == "timestamps"
        for t in f["timestamps"]
    ]
    if version == "1.2":
        assert stamps == [
            ("alpha", 0.0, 0.3),
            ("beta", 0.36, 0.24),
            ("gamma", 0.66, 0.3),
            ("delta", 0.0, 0.3),
            ("epsilon", 0.36, 0.42),
        ]
    else:
        # Chunks are 0.1 s long: each start is measured from its own chunk.
        assert stamps == [
            ("alpha", 0.0, 0.3),
            ("beta", 0.06, 0.24),
            ("gamma", 0.06, 0.3),
            ("delta", 0.0, 0.3),
            ("epsilon", 0.06, 0.42),
        ]


async def test_gen_c_accepts_legacy_command_shapes(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """Untyped and `command` messages work in a typed session, answered typed."""
    ws = await open_session(http, emulator, init_message(format="pcm_s16le"))
    await send_all(
        ws,
        {"text": "Hi there"},
        {"command": "flush", "nonce": 7},
        {"text": " you"},
        {"eof": True},
    )
    frames = await receive_all(ws)
    assert ws.close_code == 1000
    assert json_of(frames)[1:] == [{"type": "flush_complete", "nonce": 7}]
    assert emulator.sessions[0].segments == ["Hi there", " you"]


async def test_unknown_message_type_is_an_error(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """An unknown type gets one typed error frame and a close."""
    ws = await open_session(http, emulator, init_message())
    await send_all(ws, {"type": "bogus"})
    frames = await receive_all(ws)
    record = emulator.sessions[0]
    assert frames[1:] == [
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "unknown message type 'bogus'",
            },
            "request_id": record.request_id,
        }
    ]
    assert ws.close_code == 1000


@pytest.mark.parametrize(
    ("init", "slug", "message"),
    [
        ({"X-API-Key": "nope"}, "authentication_error", "Invalid API key"),
        ({"X-API-Key": ""}, "authentication_error", "Missing API key"),
        ({"voice": "nobody"}, "not_found_error", "voice 'nobody' not found"),
        ({"format": "flac"}, "invalid_request_error", "unknown format 'flac'"),
        ({"format": "webm"}, "invalid_request_error", "not supported"),
        ({"sample_rate": 44100}, "invalid_request_error", "sample_rate"),
        ({"language": "xx"}, "invalid_request_error", "unsupported language 'xx'"),
    ],
)
async def test_init_errors(
    emulator: LmntEmulator,
    http: aiohttp.ClientSession,
    init: dict[str, Any],
    slug: str,
    message: str,
) -> None:
    """Refused inits: one error frame (no ready), then close."""
    ws = await open_session(http, emulator, init_message(**init))
    frames = await receive_all(ws)
    assert len(frames) == 1
    error = frames[0]
    assert isinstance(error, dict)
    assert error["type"] == "error"
    assert error["error"]["type"] == slug
    assert message in error["error"]["message"]
    assert error["request_id"] == emulator.sessions[0].request_id
    assert ws.close_code == 1000
    assert emulator.sessions[0].error is not None


async def test_reject_with(emulator: LmntEmulator, http: aiohttp.ClientSession) -> None:
    """reject_with answers an otherwise valid init with the configured error."""
    emulator.config.reject_with = ("payment_required_error", "Out of characters")
    emulator.config.error_close_code = 1008
    ws = await open_session(http, emulator, init_message())
    frames = await receive_all(ws)
    assert [f["error"] for f in json_of(frames)] == [
        {"type": "payment_required_error", "message": "Out of characters"}
    ]
    assert ws.close_code == 1008


async def test_missing_api_key_before_anything_else(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """The key is checked before the voice; an init without a key is refused."""
    init = init_message(voice="nobody")
    del init["X-API-Key"]
    ws = await open_session(http, emulator, init)
    frames = await receive_all(ws)
    assert json_of(frames)[0]["error"]["type"] == "authentication_error"


# Fault switches


async def test_auto_synthesize_at_word_boundary(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """With auto_synthesize_chars the server speaks complete words unprompted."""
    emulator.config.auto_synthesize_chars = 12
    ws = await open_session(http, emulator, init_message(format="pcm_s16le"))
    await send_all(
        ws, {"type": "text", "text": "one two thr"}, {"type": "text", "text": "ee four"}
    )
    assert (await receive_json(ws))["type"] == "ready"
    assert await receive_audio(ws)  # no flush was sent
    await send_all(ws, {"type": "finish"})
    await receive_all(ws)
    assert emulator.sessions[0].segments == ["one two three ", "four"]


# Legacy generations


async def test_gen_a_with_extras(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """Gen A (SDK 1.x): no ready, strictly one extras JSON before each audio frame."""
    ws = await open_session(
        http,
        emulator,
        {
            "X-API-Key": API_KEY,
            "voice": "mara-wilson",
            "format": "raw",
            "sample_rate": 16000,
            "send_extras": True,
        },
    )
    await send_all(
        ws, {"text": "Hello world"}, {"flush": True}, {"text": " again"}, {"eof": True}
    )
    frames = await receive_all(ws)
    assert ws.close_code == 1000
    assert emulator.sessions[0].generation == "A"
    assert len(frames) % 2 == 0
    extras, audio = frames[0::2], frames[1::2]
    assert all(isinstance(f, dict) and "durations" in f for f in extras)
    assert all(isinstance(f, bytes) for f in audio)
    assert [e["buffer_empty"] for e in json_of(extras)].count(True) == 2
    words = [d["text"] for e in json_of(extras) for d in e["durations"]]
    assert words == ["Hello", "world", "again"]
    expected = synth.sample_count("Hello world", 16000) + synth.sample_count(
        " again", 16000
    )
    assert len(audio_of(frames)) == 2 * expected


async def test_gen_a_binary_only_and_error_shape(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """Gen A without extras gets audio only; its errors are {"error": str}."""
    ws = await open_session(
        http, emulator, {"X-API-Key": API_KEY, "voice": "leah", "send_extras": False}
    )
    await send_all(ws, {"text": "Just audio."}, {"eof": True})
    frames = await receive_all(ws)
    assert frames
    assert all(isinstance(f, bytes) for f in frames)
    ws = await open_session(http, emulator, {"X-API-Key": "wrong", "voice": "leah"})
    assert await receive_all(ws) == [{"error": "Invalid API key"}]


async def test_gen_b_commands(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """Gen B (protocol_version 2): string sample rate, `complete` acks, eof."""
    ws = await open_session(
        http,
        emulator,
        {
            "X-API-Key": API_KEY,
            "voice": "brandon",
            "format": "pcm_s16le",
            "sample_rate": "16000",
            "return_extras": "True",
            "protocol_version": 2,
        },
    )
    await send_all(
        ws,
        {"text": "Dropped."},
        {"command": "reset", "nonce": 4},
        {"text": "Kept."},
        {"command": "flush", "nonce": 5},
        {"command": "eof"},
    )
    frames = await receive_all(ws)
    assert ws.close_code == 1000
    messages = json_of(frames)
    assert messages[0] == {"complete": "reset", "nonce": 4}
    assert messages[-1] == {"complete": "flush", "nonce": 5}
    assert all("durations" in m for m in messages[1:-1])
    assert len(audio_of(frames)) == 2 * synth.sample_count("Kept.", 16000)
    assert emulator.sessions[0].generation == "B"


# REST


async def test_rest_voices_and_account(
    emulator: LmntEmulator, http: aiohttp.ClientSession
) -> None:
    """Voice list filters, a single voice, the account; lmnt-version is optional."""
    headers = {"X-API-Key": API_KEY}

    async def get(path: str, **query: str) -> tuple[int, Any]:
        async with http.get(
            emulator.base_url + path, headers=headers, params=query
        ) as response:
            return response.status, await response.json()

    status, voices = await get("/v1/ai/voice/list")
    assert status == 200
    assert isinstance(voices, list)
    assert {"leah", "elowen", "mara-wilson", "brandon"} <= {v["id"] for v in voices}
    for voice in voices:
        assert set(voice) == {
            "id", "name", "owner", "state", "description", "gender",
            "preview_url", "starred", "tags", "type",
        }  # fmt: skip
    assert len((await get("/v1/ai/voice/list", starred="False"))[1]) == len(voices)
    assert [v["id"] for v in (await get("/v1/ai/voice/list", starred="true"))[1]] == [
        "mara-wilson",
        "my-cloned-voice",
    ]
    assert [v["id"] for v in (await get("/v1/ai/voice/list", owner="me"))[1]] == [
        "my-cloned-voice"
    ]
    system = (await get("/v1/ai/voice/list", owner="system"))[1]
    assert all(v["owner"] == "system" for v in system)
    assert await get("/v1/ai/voice/elowen") == (200, voices[1])
    assert await get("/v1/ai/voice/nobody") == (
        404,
        {"error": {"type": "not_found_error", "message": "voice 'nobody' not found"}},
    )
    status, account = await get("/v1/account")
    assert status == 200
    assert set(account["plan"]) == {"character_limit", "commercial_use_allowed", "type"}
    assert set(account["usage"]) == {"characters"}
    assert "lmnt-version" not in emulator.requests[0].headers
    assert emulator.requests[0].headers["x-api-key"] == REDACTED
    assert emulator.requests[1].query == {"starred": "False"}

    emulator.config.voices = [emulator.config.voices[0]]
    assert [v["id"] for v in (await get("/v1/ai/voice/list"))[1]] == ["leah"]


@pytest.mark.parametrize(
    ("shape", "body"),
    [
        (
            "typed",
            {"error": {"type": "authentication_error", "message": "Invalid API key"}},
        ),
        ("flat", {"error": "Invalid API key"}),
        ("message", {"message": "Invalid API key"}),
    ],
)
async def test_rest_401_shapes(
    emulator: LmntEmulator, http: aiohttp.ClientSession, shape: Any, body: Any
) -> None:
    """A bad key is a 401 with a JSON body in the configured shape."""
    emulator.config.rest_error_shape = shape
    for path in ("/v1/ai/voice/list", "/v1/ai/voice/leah", "/v1/account"):
        async with http.get(
            emulator.base_url + path, headers={"X-API-Key": "wrong"}
        ) as response:
            assert response.status == 401
            assert await response.json() == body
    async with http.get(emulator.base_url + "/v1/account") as response:
        assert response.status == 401
        assert "Missing API key" in await response.text()


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rest_status_override(
    emulator: LmntEmulator, http: aiohttp.ClientSession, status: int
) -> None:
    """rest_status_override answers every REST call with that status."""
    emulator.config.rest_status_override = status
    async with http.get(
        emulator.base_url + "/v1/ai/voice/list", headers={"X-API-Key": API_KEY}
    ) as response:
        assert response.status == status
        slug = "rate_limit_error" if status == 429 else "internal_server_error"
        assert (await response.json())["error"]["type"] == slug


# Shared synthesis


def test_synth_lengths_and_determinism() -> None:
    """Sample counts follow the text exactly; output is deterministic."""
    text = "Hello, world! 123 ÄÖÜ"
    for rate in (24000, 22050, 16000, 8000):
        pcm = synth.synthesize_pcm(text, rate)
        assert len(pcm) == 2 * synth.sample_count(text, rate)
        assert synth.sample_count(text, rate) == round(synth.audio_seconds(text) * rate)
        assert pcm == synth.synthesize_pcm(text, rate)
    samples = array.array("h", synth.synthesize_pcm("a b", 24000))
    if sys.byteorder == "big":
        samples.byteswap()
    per_char = 1440
    assert max(samples[:per_char]) > 5000  # a letter is a tone
    assert not any(samples[per_char : 2 * per_char])  # a space is silence
    # Tones start and end at zero, so concatenation never clicks.
    assert samples[0] == 0
    assert abs(samples[per_char - 1]) < 200
    a_tone = synth.synthesize_pcm("a", 24000)
    assert a_tone != synth.synthesize_pcm("o", 24000)
    assert synth.synthesize_pcm("", 24000) == b""


async def test_mp3_encoder_segments() -> None:
    """Whole frames only; each flushed segment decodes to its own length."""
    for rate in (24000, 16000, 8000):
        encoder = synth.Mp3StreamEncoder(rate)
        segments = ["First segment.", "2nd", "A third, longer segment of text."]
        stream = b""
        for text in segments:
            for piece in synth.chunk_pcm(synth.synthesize_pcm(text, rate), rate, 0.05):
                frames = encoder.encode(piece)
                assert synth.split_mp3_frames(frames) == (frames, b"")
                stream += frames
            tail = encoder.flush()
            assert synth.split_mp3_frames(tail) == (tail, b"")
            stream += tail
        decoded = await decode_seconds(stream, rate)
        assert_mp3_duration(decoded, segments, rate)


def test_sample_conversions() -> None:
    """µ-law, float32 and the streaming WAV header."""
    pcm = struct.pack("<4h", 0, 32767, -32768, 1000)
    assert synth.pcm16_to_ulaw(pcm)[:3] == bytes([0xFF, 0x80, 0x00])
    assert len(synth.pcm16_to_ulaw(pcm)) == 4
    floats = struct.unpack("<4f", synth.pcm16_to_f32le(pcm))
    assert floats[:3] == (0.0, 32767 / 32768, -1.0)
    header = synth.wav_header(
        8000, bits_per_sample=8, format_tag=synth.WAVE_FORMAT_MULAW
    )
    assert header[:4] == b"RIFF"
    assert header[8:16] == b"WAVEfmt "
    size = struct.unpack("<I", header[16:20])[0]
    tag, channels, rate, byte_rate, align, bits = struct.unpack(
        "<HHIIHH", header[20:36]
    )
    assert (tag, channels, rate, byte_rate, align, bits) == (7, 1, 8000, 8000, 1, 8)
    assert header[20 + size : 24 + size] == b"data"
    assert len(synth.wav_header(16000)) == 44


async def test_pacer() -> None:
    """The first piece leaves at once, the rest at speed x real time; 0 never waits."""
    pacer = synth.Pacer(10.0)
    started = time.monotonic()
    await pacer.wait(0.2)
    assert time.monotonic() - started < 0.01
    for _ in range(4):
        await pacer.wait(0.2)
    assert 0.08 <= time.monotonic() - started < 0.5
    unpaced = synth.Pacer(0)
    started = time.monotonic()
    for _ in range(100):
        await unpaced.wait(1.0)
    assert time.monotonic() - started < 0.05
