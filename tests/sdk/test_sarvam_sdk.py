"""The Sarvam emulator against the official SDK (sarvamai 0.1.39) and on the raw wire.

The SDK runs in its own interpreter; see tests/sdk/helpers.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
import time
from typing import Any

import aiohttp
import pytest

from tests.emulators import synth
from tests.emulators.base import REDACTED
from tests.emulators.sarvam import (
    STREAM_PATH,
    STREAM_PATH_V2,
    VOICES_PATH,
    SarvamEmulator,
    SarvamEmulatorConfig,
    SarvamSessionRecord,
)
from tests.sdk.helpers import assert_mp3_duration, decode_seconds
from tests.sdk.providers import API_KEY
from tests.sdk.providers.sarvam import (
    FLUSH,
    SARVAM,
    V3_QUERY,
    audio_of,
    chunks_of,
    config_message,
    open_ws,
    receive_all,
    receive_frame,
    receive_until_event,
    text_message,
)
from tests.sdk.wire import send_all

# pytest-homeassistant-custom-component blocks socket creation by default.
pytestmark = pytest.mark.usefixtures("socket_enabled")

# What the SDK client script sends (see clients/sarvam_sdk_client.py).
SDK_FIRST = (
    "Namaste! This is a streaming test of the Sarvam emulator, "
    "split mid-word on purpose. And here is the end."
)
SDK_SECOND = "After the first flush, one more."
PERSONA_TEXT = "Good evening. The garden lights are now on."
CODEC_TEXT = "Raw audio, please."
# Everything configure() fills in on SDK 0.1.39, for hi-IN and shubh.
SDK_CONFIG = {
    "language_code": "hi-IN",
    "speaker": "shubh",
    "pitch": 0.0,
    "pace": 1.0,
    "loudness": 1.0,
    "speech_sample_rate": 22050,
    "enable_preprocessing": False,
    "output_audio_codec": "mp3",
    "output_audio_bitrate": "128k",
    "min_buffer_size": 50,
    "max_chunk_length": 150,
    "dict_id": None,
}

PING = {"type": "ping"}


async def ended(emulator: SarvamEmulator, index: int = 0) -> SarvamSessionRecord:
    """Wait until session `index` has ended (its record is then complete)."""
    async with asyncio.timeout(2):
        record = await emulator.wait_for_session(index)
        await record.ended.wait()
    return record


def types_of(frames: list[dict[str, Any]]) -> list[str]:
    """Return the message types, with runs of audio collapsed to one entry."""
    types: list[str] = []
    for frame in frames:
        if not (frame["type"] == "audio" and types and types[-1] == "audio"):
            types.append(frame["type"])
    return types


@pytest.fixture
async def emulator() -> AsyncIterator[SarvamEmulator]:
    """A running emulator that accepts API_KEY."""
    async with SarvamEmulator(SarvamEmulatorConfig(api_keys={API_KEY})) as server:
        yield server


# The official SDK


async def test_sdk_stream_end_to_end(emulator: SarvamEmulator, tmp_path: Path) -> None:
    """Cloned voices and a streamed v3 session through SDK 0.1.39, checked on both sides."""
    audio_file = tmp_path / "stream.mp3"
    result = await SARVAM.run_sdk(emulator, "stream", audio_out=audio_file)
    assert result["sdk_version"] == "0.1.39"
    assert result["sent_first"] == SDK_FIRST
    assert result["sent_second"] == SDK_SECOND

    # What the emulator saw.
    record = await ended(emulator)
    assert len(emulator.sessions) == emulator.sessions_started == 1
    assert record.path == STREAM_PATH
    assert record.query == {"model": "bulbul:v3", "send_completion_event": "true"}
    assert record.model == "bulbul:v3"
    assert record.completion_event
    assert record.auth_source == "header"
    assert record.configs == [SDK_CONFIG]
    assert record.config == SDK_CONFIG
    assert record.language_field == "language_code"
    assert record.voice == "shubh"
    assert record.text == SDK_FIRST + SDK_SECOND
    assert len(record.text_parts) == 6  # split mid-word by the client
    # min_buffer_size (50) speaks complete words unprompted; each flush the rest.
    assert record.segments == [
        "Namaste! This is a streaming test of the Sarvam ",
        "emulator, split mid-word on purpose. And here is the ",
        "end.",
        SDK_SECOND,
    ]
    assert record.flushes == 2
    assert record.events == 2
    assert record.keepalives == 1
    assert [m["type"] for m in record.messages] == [
        "config", *["text"] * 4, "flush", "ping", "text", "text", "flush",
    ]  # fmt: skip
    assert not record.finished  # the protocol has no end-of-input message
    assert record.client_closed  # the SDK closed when leaving the context
    assert record.ended.is_set()
    assert record.error is None
    assert record.raw_query == V3_QUERY  # the colon URL-encoded
    upgrade = next(r for r in emulator.requests if r.websocket)
    assert upgrade.headers["api-subscription-key"] == REDACTED
    assert upgrade.headers["x-fern-sdk-name"] == "sarvamai"
    rest = [r for r in emulator.requests if not r.websocket]
    assert [r.path for r in rest] == [VOICES_PATH, VOICES_PATH]
    assert rest[1].query == {"gender": "female", "limit": "10", "offset": "0"}
    assert all(r.headers["api-subscription-key"] == REDACTED for r in rest)

    # What the SDK saw: audio, then exactly one final event per flush.
    types = result["types"]
    assert result["classes"] == ["AudioOutput", "EventResponse"]
    assert set(types) == {"audio", "event"}
    first, second = result["events"]
    assert types[first["position"]] == types[second["position"]] == "event"
    assert second["position"] == len(types) - 1
    assert "audio" in types[: first["position"]]
    assert "audio" in types[first["position"] + 1 :]
    for event in result["events"]:
        assert event["event_type"] == "final"
        assert event["message"]
        assert event["timestamp_class"] == "datetime"
        assert datetime.fromisoformat(event["timestamp"]).tzinfo is not None
    assert result["errors"] == []
    assert result["content_types"] == ["audio/mp3"]
    assert result["request_ids"] == [record.request_id]
    assert result["audio_messages"] == record.chunks_sent
    assert result["audio_bytes"] == record.audio_bytes_sent > 0
    audio = audio_file.read_bytes()
    assert synth.mp3_frame_sample_rate(audio[:4]) == 22050
    decoded = await decode_seconds(audio, 22050)
    assert_mp3_duration(decoded, record.segments, 22050)
    assert decoded >= synth.audio_seconds(SDK_FIRST + SDK_SECOND) - 1e-9

    # The voice list, parsed into the SDK's models.
    assert result["voices_class"] == "VoiceLibraryListResponse"
    assert result["voice_classes"] == ["VoiceLibraryVoice"]
    voices = result["voices"]
    assert voices["status"] == "success"
    assert voices["data"]["total"] == len(emulator.config.cloned_voices)
    assert [v["id"] for v in voices["data"]["voices"]] == [
        v["id"] for v in emulator.config.cloned_voices
    ]
    assert all(v["source"] == "cloned" for v in voices["data"]["voices"])
    assert result["female"] == ["vc_5f2a9c7e41d84b0c"]


async def test_sdk_v4_flash_persona(emulator: SarvamEmulator, tmp_path: Path) -> None:
    """A bulbul:v4-flash persona speaks at 24 kHz."""
    audio_file = tmp_path / "persona.mp3"
    result = await SARVAM.run_sdk(emulator, "persona", audio_out=audio_file)
    (record,) = emulator.sessions
    assert record.model == "bulbul:v4-flash"
    assert record.voice == "shubh_en_narration_gentle"
    assert record.config is not None
    assert record.config["speech_sample_rate"] == 24000
    assert record.segments == [PERSONA_TEXT]
    assert record.events == 1
    assert result["types"][-1] == "event"
    assert result["errors"] == []
    audio = audio_file.read_bytes()
    assert synth.mp3_frame_sample_rate(audio[:4]) == 24000
    assert_mp3_duration(await decode_seconds(audio, 24000), [PERSONA_TEXT], 24000)


@pytest.mark.parametrize(
    ("style", "message", "code"),
    [
        ("in_message", "400: Speaker 'anushka' is not compatible with model bulbul:v3", None),
        ("code_field", "Speaker 'anushka' is not compatible with model bulbul:v3", 400),
    ],
)  # fmt: skip
async def test_sdk_incompatible_speaker(
    emulator: SarvamEmulator, style: Any, message: str, code: int | None
) -> None:
    """configure() without a speaker sends the v2 voice anushka, refused on v3."""
    emulator.config.error_code_style = style
    result = await SARVAM.run_sdk(emulator, "bad_speaker")
    (record,) = emulator.sessions
    assert result["types"] == ["error"]
    assert result["classes"] == ["ErrorResponse"]
    assert result["errors"] == [
        {"message": message, "code": code, "request_id": record.request_id}
    ]
    assert result["closed"] == {"exception": None, "code": 1000}
    assert record.config is not None
    assert record.config["speaker"] == "anushka"
    assert record.voice is None  # never in effect
    assert record.error == message
    assert not record.client_closed
    assert record.audio_bytes_sent == 0


async def test_sdk_bad_key_as_error_frame(emulator: SarvamEmulator) -> None:
    """bad_key_style "error_frame": the upgrade succeeds, then an error and a close."""
    emulator.config.bad_key_style = "error_frame"
    result = await SARVAM.run_sdk(emulator, "bad_key", api_key="wrong-key")
    assert result["rest_error"]["status_code"] == 401
    assert result["connect_error"] is None
    assert result["types"] == ["error"]
    assert result["errors"] == [
        {"message": "Invalid API subscription key", "code": 403, "request_id": None}
    ]
    assert result["closed"] == {"exception": None, "code": 1000}
    (record,) = emulator.sessions
    assert record.auth_source is None
    assert record.error == "Invalid API subscription key"
    assert record.configs == []  # nothing was read after the refusal


async def test_sdk_internal_error(emulator: SarvamEmulator) -> None:
    """error_after_chunks: audio, one error message, then a 1011 close."""
    emulator.config.error_after_chunks = 2
    result = await SARVAM.run_sdk(emulator, "fault")
    (record,) = emulator.sessions
    assert result["types"] == ["audio", "audio", "error"]
    assert result["errors"] == [
        {
            "message": "Internal Server Error",
            "code": 500,
            "request_id": record.request_id,
        }
    ]
    assert result["closed"] == {"exception": "ConnectionClosedError", "code": 1011}
    assert record.chunks_sent == 2
    assert record.error == "Internal Server Error"
    assert record.events == 0
    assert not record.client_closed


@pytest.mark.parametrize("content_type", ["audio/wav", "audio/pcm"])
@pytest.mark.parametrize("header", [False, True])
async def test_sdk_linear16(
    emulator: SarvamEmulator, tmp_path: Path, content_type: str, header: bool
) -> None:
    """linear16: raw PCM16 LE, labelled pcm_content_type, optionally WAV-headed."""
    emulator.config.pcm_content_type = content_type
    emulator.config.wav_chunk_header = header
    audio_file = tmp_path / "speech.pcm"
    result = await SARVAM.run_sdk(
        emulator,
        "codec",
        *("--codec", "linear16", "--sample-rate", "16000"),
        audio_out=audio_file,
    )
    (record,) = emulator.sessions
    assert record.config is not None
    assert record.config["output_audio_codec"] == "linear16"
    assert record.config["speech_sample_rate"] == 16000
    assert result["content_types"] == [content_type]
    assert result["types"][-1] == "event"
    audio = audio_file.read_bytes()
    samples = synth.sample_count(CODEC_TEXT, 16000)
    if header:
        assert result["riff_chunks"] == 1
        assert audio[:44] == synth.wav_header(16000)
        assert len(audio) == 44 + 2 * samples
        decoded = await decode_seconds(audio, 16000, fmt="wav")
    else:
        assert result["riff_chunks"] == 0
        assert audio == synth.synthesize_pcm(CODEC_TEXT, 16000)
        decoded = await decode_seconds(audio, 16000, fmt="s16le")
    assert decoded == pytest.approx(synth.audio_seconds(CODEC_TEXT), abs=1e-6)


async def test_sdk_text_too_long(emulator: SarvamEmulator) -> None:
    """A text message over 2500 characters is refused with code 422."""
    result = await SARVAM.run_sdk(emulator, "too_long")
    (record,) = emulator.sessions
    (error,) = result["errors"]
    assert error["code"] == 422
    assert "2500" in error["message"]
    assert result["types"] == ["error"]
    assert record.text_parts == []
    assert record.segments == []
    assert record.error == error["message"]


# Handshake and authentication on the wire


async def test_v2_path_and_subprotocol_auth(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """/ws/v2 works; a key in the sub-protocol is accepted, echoed and never logged."""
    protocol = f"api-subscription-key.{API_KEY}"
    ws = await open_ws(
        http,
        emulator,
        path=STREAM_PATH_V2,
        query="model=bulbul%3Av4-flash&send_completion_event=True",
        key=None,
        protocols=(protocol,),
    )
    assert ws.protocol == protocol
    await send_all(
        ws,
        config_message(speaker="simran_en_customer", output_audio_codec="linear16"),
        text_message("Hi."),
        FLUSH,
    )
    frames = await receive_until_event(ws)
    assert len(audio_of(frames)) == 2 * synth.sample_count("Hi.", 24000)
    await ws.close()
    record = emulator.sessions[0]
    assert record.path == STREAM_PATH_V2
    assert record.auth_source == "subprotocol"
    assert record.model == "bulbul:v4-flash"
    assert record.completion_event
    (upgrade,) = emulator.requests
    assert upgrade.headers["sec-websocket-protocol"] == REDACTED
    assert API_KEY not in repr(emulator.requests)


async def test_header_name_is_case_insensitive(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """Api-Subscription-Key (as connect(api_subscription_key=...) adds it) works too."""
    ws = await http.ws_connect(
        f"{emulator.ws_base_url}{STREAM_PATH}",
        headers={"Api-Subscription-Key": API_KEY},
    )
    await send_all(ws, PING)
    await ws.close()
    record = await ended(emulator)
    assert record.auth_source == "header"
    assert record.model == "bulbul:v3"  # the default when the query has none
    assert not record.completion_event
    assert record.keepalives == 1
    assert record.client_closed


@pytest.mark.parametrize(
    ("headers", "protocols", "message"),
    [
        ({}, (), "Missing API key"),
        ({"api-subscription-key": "wrong"}, (), "Invalid API key"),
        ({}, ("api-subscription-key.wrong",), "Invalid API key"),
        ({"Authorization": f"Bearer {API_KEY}"}, (), "Missing API key"),
    ],
)
async def test_handshake_rejections(
    emulator: SarvamEmulator,
    http: aiohttp.ClientSession,
    headers: dict[str, str],
    protocols: tuple[str, ...],
    message: str,
) -> None:
    """A missing or wrong key is HTTP 401 with a JSON body; no session starts."""
    url = f"{emulator.ws_base_url}{STREAM_PATH}?{V3_QUERY}"
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(url, headers=headers, protocols=protocols)
    assert caught.value.status == 401
    # The same refusal without an upgrade shows the body.
    if protocols:
        headers = {**headers, "Sec-WebSocket-Protocol": ", ".join(protocols)}
    async with http.get(emulator.base_url + STREAM_PATH, headers=headers) as response:
        assert response.status == 401
        assert await response.json() == {
            "error": {"message": message, "code": "invalid_api_key_error"}
        }
    assert emulator.sessions == []


async def test_bad_key_error_frame_on_the_wire(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """bad_key_style "error_frame" still echoes the sub-protocol, then refuses."""
    emulator.config.bad_key_style = "error_frame"
    protocol = "api-subscription-key.wrong"
    ws = await open_ws(http, emulator, key=None, protocols=(protocol,))
    assert ws.protocol == protocol
    assert await receive_all(ws) == [
        {
            "type": "error",
            "data": {"message": "Invalid API subscription key", "code": 403},
        }
    ]
    assert ws.close_code == 1000


# Query string


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("True", True), ("false", False), ("False", False), (None, False)],
)
async def test_send_completion_event_values(
    emulator: SarvamEmulator,
    http: aiohttp.ClientSession,
    value: str | None,
    expected: bool,
) -> None:
    """true/True turn the completion event on; false/False/absent leave it off."""
    query = "model=bulbul%3Av3" + (
        "" if value is None else f"&send_completion_event={value}"
    )
    ws = await open_ws(http, emulator, query=query)
    await send_all(
        ws, config_message(output_audio_codec="linear16"), text_message("Ok."), FLUSH
    )
    frames = [await receive_frame(ws) for _ in range(2)]  # "Ok." is 0.18 s: 2 chunks
    assert [f["type"] for f in frames] == ["audio", "audio"]
    if expected:
        assert (await receive_frame(ws))["type"] == "event"
    else:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await ws.receive()
    await ws.close()
    record = await ended(emulator)
    assert record.completion_event is expected
    assert record.events == int(expected)


async def test_invalid_send_completion_event(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """Only the four spellings are accepted."""
    ws = await open_ws(http, emulator, query="send_completion_event=yes")
    (error,) = await receive_all(ws)
    assert error["data"]["code"] == 422
    assert "send_completion_event" in error["data"]["message"]


@pytest.mark.parametrize("style", ["in_message", "code_field"])
async def test_unknown_and_retired_models(
    emulator: SarvamEmulator, http: aiohttp.ClientSession, style: Any
) -> None:
    """An unknown model (or one removed from `models`) is refused after the upgrade."""
    emulator.config.error_code_style = style
    emulator.config.close_after_error = False  # model errors end the session anyway
    ws = await open_ws(http, emulator, query="model=bulbul%3Av9")
    (error,) = await receive_all(ws)
    message = error["data"]["message"]
    assert "Invalid model 'bulbul:v9'" in message
    if style == "in_message":
        assert message.startswith("400: ")
        assert "code" not in error["data"]
    else:
        assert error["data"]["code"] == 400
    assert error["data"]["request_id"] == emulator.sessions[0].request_id

    # bulbul:v2 works until the server stops accepting it.
    ws = await open_ws(http, emulator, query="model=bulbul%3Av2")
    await send_all(ws, config_message(speaker="anushka", pace=2.5), PING)
    await ws.close()
    emulator.config.models = ("bulbul:v3", "bulbul:v4-flash")
    ws = await open_ws(http, emulator, query="model=bulbul%3Av2")
    (error,) = await receive_all(ws)
    assert "Invalid model 'bulbul:v2'" in error["data"]["message"]
    assert [r.error is None for r in emulator.sessions] == [False, True, False]


# Config


@pytest.mark.parametrize("field_name", ["language_code", "target_language_code"])
async def test_language_field_names(
    emulator: SarvamEmulator, http: aiohttp.ClientSession, field_name: str
) -> None:
    """Both spellings of the language field work and are recorded."""
    ws = await open_ws(http, emulator)
    await send_all(
        ws,
        {
            "type": "config",
            "data": {field_name: "ta-IN", "speaker": "kavitha", "dict_id": None},
        },
        text_message("Vanakkam."),
        FLUSH,
    )
    frames = await receive_until_event(ws)
    await ws.close()
    record = emulator.sessions[0]
    assert record.language_field == field_name
    assert record.voice == "kavitha"
    decoded = await decode_seconds(audio_of(frames), 24000)
    assert_mp3_duration(decoded, ["Vanakkam."], 24000)


@pytest.mark.parametrize(
    ("data", "code", "fragment"),
    [
        ({"language_code": "en-US"}, 422, "language_code must be one of"),
        ({"language_code": None}, 422, "language_code is required"),
        ({"speaker": "Shubh"}, 400, "Speaker 'Shubh' is not compatible"),
        ({"speaker": "anushka"}, 400, "with model bulbul:v3"),
        ({"model": "bulbul:v4-flash"}, 400, "Speaker 'shubh' is not compatible"),
        ({"model": "bulbul:v4-flash", "speaker": None}, 400, "speaker is required"),
        ({"pace": 2.5}, 422, "pace must be between 0.5 and 2.0"),
        ({"pace": "fast"}, 422, "pace must be between"),
        ({"pitch": "high"}, 422, "pitch must be a number"),
        ({"speech_sample_rate": 44100}, 422, "speech_sample_rate must be one of"),
        ({"speech_sample_rate": True}, 422, "speech_sample_rate must be one of"),
        ({"output_audio_codec": "opus"}, 400, "not supported by this emulator"),
        ({"output_audio_codec": "ogg"}, 422, "Invalid output_audio_codec"),
        ({"output_audio_bitrate": "320k"}, 422, "output_audio_bitrate must be one of"),
        ({"min_buffer_size": 0}, 422, "min_buffer_size must be a positive integer"),
        ({"max_chunk_length": "150"}, 422, "max_chunk_length must be a positive"),
        ({"enable_preprocessing": "yes"}, 422, "enable_preprocessing must be"),
        ({"dict_id": 7}, 422, "dict_id must be a string"),
    ],
)
async def test_config_validation(
    emulator: SarvamEmulator,
    http: aiohttp.ClientSession,
    data: dict[str, Any],
    code: int,
    fragment: str,
) -> None:
    """Refused configs: one error (422 with a code, 400 in the message), a close."""
    ws = await open_ws(http, emulator)
    await send_all(ws, config_message(**data))
    (error,) = await receive_all(ws)
    assert ws.close_code == 1000
    assert fragment in error["data"]["message"]
    if code == 422:
        assert error["data"]["code"] == 422
    else:
        assert error["data"]["message"].startswith("400: ")
    record = emulator.sessions[0]
    assert record.config == config_message(**data)["data"]
    assert record.voice is None


async def test_accepted_config_variants(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """String rates, "pcm", unsupported knobs and pace ranges per model are accepted."""
    ws = await open_ws(http, emulator)
    await send_all(
        ws,
        config_message(
            speech_sample_rate="8000",  # as pipecat sends it
            output_audio_codec="pcm",  # the docs' name for linear16
            pitch=0.8,  # ignored on v3, like loudness
            loudness=1.5,
            temperature=0.4,
            enable_preprocessing=True,
            output_audio_bitrate="64k",
            pace=0.5,
        ),
        text_message("One."),
        FLUSH,
    )
    frames = await receive_until_event(ws)
    assert frames[0]["data"]["content_type"] == "audio/wav"
    assert len(audio_of(frames)) == 2 * synth.sample_count("One.", 8000)
    await ws.close()
    ws = await open_ws(
        http, emulator, query="model=bulbul%3Av2&send_completion_event=true"
    )
    await send_all(
        ws,
        config_message(
            speaker="hitesh", pace=0.3, temperature=2.0, output_audio_codec="linear16"
        ),
        text_message("Two."),
        FLUSH,
    )
    frames = await receive_until_event(ws)
    assert len(audio_of(frames)) == 2 * synth.sample_count("Two.", 24000)
    await ws.close()
    assert emulator.sessions[1].voice == "hitesh"
    assert all(r.error is None for r in emulator.sessions)


async def test_cloned_voices_speak_on_every_model(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """A cloned voice id is a valid speaker whatever the model; a deleted one is not."""
    cloned = emulator.config.cloned_voices[0]["id"]
    for model in ("bulbul%3Av2", "bulbul%3Av3", "bulbul%3Av4-flash"):
        query = f"model={model}&send_completion_event=true"
        ws = await open_ws(http, emulator, query=query)
        await send_all(ws, config_message(speaker=cloned), text_message("Hey."), FLUSH)
        frames = await receive_until_event(ws)
        assert audio_of(frames)
        await ws.close()
    assert [r.voice for r in emulator.sessions] == [cloned] * 3
    emulator.config.cloned_voices[0]["status"] = "deleted"
    ws = await open_ws(http, emulator)
    await send_all(ws, config_message(speaker=cloned))
    (error,) = await receive_all(ws)
    assert "is not compatible" in error["data"]["message"]


async def test_config_must_come_first(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """Text before any config is refused and not recorded as text."""
    ws = await open_ws(http, emulator)
    await send_all(ws, text_message("Too early."))
    (error,) = await receive_all(ws)
    assert error["data"]["message"].startswith("400: Send a config message")
    record = emulator.sessions[0]
    assert record.text_parts == []
    assert record.messages == [text_message("Too early.")]


async def test_resent_config_speaks_the_buffer_first(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """A new config flushes buffered text with the old settings, then applies."""
    ws = await open_ws(http, emulator)
    await send_all(
        ws,
        config_message(output_audio_codec="linear16", speech_sample_rate=16000),
        text_message("Old voice."),
        config_message(
            speaker="ritu", output_audio_codec="linear16", speech_sample_rate=8000
        ),
        text_message("New voice."),
        FLUSH,
    )
    frames = await receive_until_event(ws)
    await ws.close()
    record = emulator.sessions[0]
    assert record.segments == ["Old voice.", "New voice."]
    assert record.voice == "ritu"
    assert (
        record.config
        == config_message(
            speaker="ritu", output_audio_codec="linear16", speech_sample_rate=8000
        )["data"]
    )
    assert len(record.configs) == 2
    # One event: the implicit flush of a new config sends none.
    assert [f["type"] for f in frames].count("event") == 1
    expected = 2 * (
        synth.sample_count("Old voice.", 16000) + synth.sample_count("New voice.", 8000)
    )
    assert len(audio_of(frames)) == expected


# Text, flush and synthesis


async def test_min_buffer_size_speaks_whole_words(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """Buffered text is spoken up to its last space once min_buffer_size is reached."""
    ws = await open_ws(http, emulator)
    await send_all(
        ws,
        config_message(output_audio_codec="linear16", min_buffer_size=12),
        text_message("one two thr"),
        text_message("ee four"),
    )
    first = await receive_frame(ws)  # no flush was sent
    assert first["type"] == "audio"
    await send_all(ws, text_message("x"), FLUSH)
    frames = [first, *await receive_until_event(ws)]
    await ws.close()
    record = emulator.sessions[0]
    assert record.segments == ["one two three ", "fourx"]
    assert record.text == "one two three fourx"
    # No event after the automatic synthesis, one after the flush.
    assert types_of(frames) == ["audio", "event"]
    assert len(audio_of(frames)) == 2 * synth.sample_count(record.text, 24000)


async def test_every_flush_gets_one_event(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """Flushes of an empty buffer are answered too; the socket stays open."""
    ws = await open_ws(http, emulator)
    await send_all(
        ws,
        config_message(output_audio_codec="linear16"),
        FLUSH,
        text_message("A."),
        FLUSH,
        FLUSH,
        text_message(""),  # accepted (0-2500 characters) and ignored
        text_message("B."),
        FLUSH,
    )
    frames = await receive_until_event(ws, 4)
    assert types_of(frames) == ["event", "audio", "event", "event", "audio", "event"]
    await send_all(ws, text_message("C."), FLUSH)
    frames = await receive_until_event(ws)
    assert types_of(frames) == ["audio", "event"]
    await ws.close()
    record = await ended(emulator)
    assert record.flushes == 5
    assert record.events == 5
    assert record.segments == ["A.", "B.", "C."]
    assert record.text_parts == ["A.", "B.", "C."]
    assert not record.finished


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000])
async def test_mp3_whole_frames_per_synthesis(
    emulator: SarvamEmulator, http: aiohttp.ClientSession, rate: int
) -> None:
    """MP3 messages hold whole frames at the configured rate and decode to the text."""
    segments = ["An mp3 test sentence.", " And one more after the flush."]
    ws = await open_ws(http, emulator)
    await send_all(
        ws,
        config_message(speech_sample_rate=rate, output_audio_bitrate="64k"),
        text_message(segments[0]),
        FLUSH,
        text_message(segments[1]),
        FLUSH,
    )
    frames = await receive_until_event(ws, 2)
    await ws.close()
    assert {f["data"]["content_type"] for f in frames if f["type"] == "audio"} == {
        "audio/mp3"
    }
    chunks = chunks_of(frames)
    assert len(chunks) > 4
    for chunk in chunks:
        assert synth.split_mp3_frames(chunk) == (chunk, b"")
    assert synth.mp3_frame_sample_rate(chunks[0]) == rate
    decoded = await decode_seconds(b"".join(chunks), rate)
    assert_mp3_duration(decoded, segments, rate)


@pytest.mark.parametrize("default_rate", [24000, 22050])
async def test_default_sample_rate(
    emulator: SarvamEmulator, http: aiohttp.ClientSession, default_rate: int
) -> None:
    """Without speech_sample_rate the configured default applies (sources disagree)."""
    emulator.config.default_sample_rate = default_rate
    ws = await open_ws(http, emulator)
    await send_all(
        ws, config_message(output_audio_codec="linear16"), text_message("Rate?"), FLUSH
    )
    frames = await receive_until_event(ws)
    await ws.close()
    assert len(audio_of(frames)) == 2 * synth.sample_count("Rate?", default_rate)


@pytest.mark.parametrize("per_chunk", [False, True])
async def test_wav_codec_headers(
    emulator: SarvamEmulator, http: aiohttp.ClientSession, per_chunk: bool
) -> None:
    """wav: a header per synthesis, or in every message with wav_header_per_chunk."""
    emulator.config.wav_header_per_chunk = per_chunk
    ws = await open_ws(http, emulator)
    texts = ["First wav segment.", "Second."]
    await send_all(
        ws,
        config_message(output_audio_codec="wav", speech_sample_rate=16000),
        text_message(texts[0]),
        FLUSH,
        text_message(texts[1]),
        FLUSH,
    )
    frames = await receive_until_event(ws, 2)
    await ws.close()
    header = synth.wav_header(16000)
    assert {f["data"]["content_type"] for f in frames if f["type"] == "audio"} == {
        "audio/wav"
    }
    first_round = frames[: [f["type"] for f in frames].index("event")]
    chunks = chunks_of(first_round)
    assert chunks[0].startswith(header)
    if per_chunk:
        assert all(chunk.startswith(header) for chunk in chunks)
        # Every message is a WAV file of its own.
        decoded = await decode_seconds(chunks[1], 16000, fmt="wav")
        assert decoded == pytest.approx((len(chunks[1]) - 44) / 2 / 16000, abs=1e-6)
    else:
        assert not any(b"RIFF" in chunk for chunk in chunks[1:])
        second = audio_of(frames[len(first_round) + 1 :])
        assert second.startswith(header)
        assert len(second) == 44 + 2 * synth.sample_count(texts[1], 16000)
        decoded = await decode_seconds(b"".join(chunks), 16000, fmt="wav")
        assert decoded == pytest.approx(synth.audio_seconds(texts[0]), abs=1e-6)


@pytest.mark.parametrize("close", [True, False])
async def test_close_after_error(
    emulator: SarvamEmulator, http: aiohttp.ClientSession, close: bool
) -> None:
    """close_after_error False keeps the session going after a refused message."""
    emulator.config.close_after_error = close
    ws = await open_ws(http, emulator)
    await send_all(
        ws,
        config_message(speaker="nobody"),
        config_message(output_audio_codec="linear16"),
        text_message("Still here."),
        FLUSH,
    )
    if close:
        frames = await receive_all(ws)
        assert [f["type"] for f in frames] == ["error"]
        assert ws.close_code == 1000
    else:
        frames = await receive_until_event(ws)
        assert types_of(frames) == ["error", "audio", "event"]
        assert len(audio_of(frames)) == 2 * synth.sample_count("Still here.", 24000)
        await ws.close()
    record = await ended(emulator)
    assert (
        record.error == "400: Speaker 'nobody' is not compatible with model bulbul:v3"
    )
    assert record.voice == (None if close else "shubh")
    assert record.client_closed is not close


async def test_malformed_messages(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """Bad JSON, unknown types, binary frames and long text: 422 errors in order."""
    emulator.config.close_after_error = False
    ws = await open_ws(http, emulator)
    await ws.send_str("not json")
    await send_all(ws, ["a", "list"], {"type": "speak"}, {"type": "text"})
    await ws.send_bytes(b"\x00\x01")
    await send_all(ws, config_message(), text_message("x" * 2501))
    await send_all(ws, text_message("y" * 2500))
    frames = [await receive_frame(ws) for _ in range(6)]
    await ws.close()
    assert all(f["type"] == "error" for f in frames)
    assert all(f["data"]["code"] == 422 for f in frames)
    messages = [f["data"]["message"] for f in frames]
    assert messages[:2] == ["Input parameters has to be a valid dictionary"] * 2
    assert messages[2] == "Unknown message type 'speak'"
    assert messages[3] == "Input parameters has to be a valid dictionary"
    assert messages[4] == "binary messages are not accepted"
    assert messages[5] == "Text must be at most 2500 characters, got 2501"
    record = emulator.sessions[0]
    assert record.errors == messages
    assert record.text_parts == ["y" * 2500]
    assert [m.get("type") for m in record.messages] == [
        "speak", "text", "config", "text", "text",
    ]  # fmt: skip


# Idle timeout and keep-alives


@pytest.mark.parametrize("close_code", [1000, 1008])
async def test_ping_resets_idle_timer_without_reply(
    emulator: SarvamEmulator, http: aiohttp.ClientSession, close_code: int
) -> None:
    """Pings keep an idle session open and get no reply; silence closes it."""
    emulator.config.idle_timeout = 0.3
    emulator.config.idle_close_code = close_code
    ws = await open_ws(http, emulator)
    await send_all(ws, config_message())
    for _ in range(6):  # 0.6 s in all, twice the idle timeout
        await asyncio.sleep(0.1)
        await send_all(ws, PING)
    assert not ws.closed
    started = time.monotonic()
    async with asyncio.timeout(2):
        message = await ws.receive()  # nothing but the close: pings get no reply
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert message.data == close_code
    assert time.monotonic() - started >= 0.25
    async with asyncio.timeout(2):
        await emulator.wait_closed()
    record = emulator.sessions[0]
    assert record.keepalives == 6
    assert record.idle_closed
    assert not record.client_closed
    assert record.messages == [config_message(), *[PING] * 6]


async def test_idle_timer_waits_while_speaking(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """Audio still being paced out is not cut off by the idle timeout."""
    emulator.config.idle_timeout = 0.2
    emulator.config.speed = 2.0
    text = "Twenty characters!!!"  # 1.2 s of audio, 0.6 s at twice real time
    ws = await open_ws(http, emulator)
    await send_all(
        ws, config_message(output_audio_codec="linear16"), text_message(text), FLUSH
    )
    frames = await receive_all(ws)
    assert types_of(frames) == ["audio", "event"]
    assert len(audio_of(frames)) == 2 * synth.sample_count(text, 24000)
    assert emulator.sessions[0].idle_closed


# REST


async def test_rest_voice_list(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """GET /voices: cloned voices only, newest first, filtered and paged."""

    async def get(**query: str) -> tuple[int, Any]:
        async with http.get(
            emulator.base_url + VOICES_PATH,
            headers={"API-Subscription-Key": API_KEY},
            params=query,
        ) as response:
            return response.status, await response.json()

    status, body = await get()
    assert status == 200
    assert body["status"] == "success"
    voices = body["data"]["voices"]
    assert body["data"]["total"] == len(voices) == 2
    for voice in voices:
        assert set(voice) == {
            "id", "name", "language", "gender", "accent", "descriptor", "status",
            "source", "created_by", "created_at", "has_preview",
        }  # fmt: skip
        assert voice["source"] == "cloned"
    assert [v["created_at"] for v in voices] == sorted(
        (v["created_at"] for v in voices), reverse=True
    )
    newest, oldest = (v["id"] for v in voices)
    assert not any(v["id"] == "shubh" for v in voices)  # built-ins are not listed

    def ids(body: Any) -> list[str]:
        return [v["id"] for v in body["data"]["voices"]]

    assert ids((await get(search="NARR"))[1]) == [oldest]
    assert ids((await get(gender="male"))[1]) == [oldest]
    assert ids((await get(accent="north indian"))[1]) == [newest]
    _, page = await get(limit="1", offset="1")
    assert ids(page) == [oldest]
    assert page["data"]["total"] == 1  # the voices of this page
    assert ids((await get(offset="5"))[1]) == []
    assert (await get(limit="201"))[0] == 422
    assert (await get(limit="many"))[0] == 422
    emulator.config.cloned_voices[1]["status"] = "deleted"
    assert ids((await get())[1]) == [newest]
    assert emulator.requests[0].headers["api-subscription-key"] == REDACTED
    assert emulator.requests[1].query == {"search": "NARR"}


async def test_rest_refusals(
    emulator: SarvamEmulator, http: aiohttp.ClientSession
) -> None:
    """Bad keys, rest_status_override and a missing beta endpoint."""
    url = emulator.base_url + VOICES_PATH
    async with http.get(url, headers={"api-subscription-key": "wrong"}) as response:
        assert response.status == 401
        assert await response.json() == {
            "error": {"message": "Invalid API key", "code": "invalid_api_key_error"}
        }
    async with http.get(url) as response:
        assert response.status == 401
        assert (await response.json())["error"]["message"] == "Missing API key"
    headers = {"api-subscription-key": API_KEY}
    for status, code in [
        (403, "insufficient_quota_error"),
        (503, "internal_server_error"),
    ]:
        emulator.config.rest_status_override = status
        async with http.get(url, headers=headers) as response:
            assert response.status == status
            assert (await response.json())["error"]["code"] == code
    emulator.config.rest_status_override = None
    emulator.config.voices_endpoint = False
    async with http.get(url, headers=headers) as response:
        assert response.status == 404
        assert await response.json() == {"detail": "Not Found"}


# Catalogue


def test_voice_catalogue() -> None:
    """Built-in speakers per model, as the SDK documents them."""
    config = SarvamEmulatorConfig()
    by_model: dict[str, set[str]] = {}
    for voice in config.voices:
        assert set(voice) == {"id", "name", "models"}
        for model in voice["models"]:
            by_model.setdefault(model, set()).add(voice["id"])
    assert len(by_model["bulbul:v3"]) == 37
    assert {"shubh", "ritu", "rupali"} <= by_model["bulbul:v3"]
    assert by_model["bulbul:v3-beta"] == by_model["bulbul:v3"]
    assert by_model["bulbul:v2"] == {
        "anushka", "manisha", "vidya", "arya", "abhilash", "karun", "hitesh",
    }  # fmt: skip
    personas = by_model["bulbul:v4-flash"]
    assert len(personas) >= 12
    assert "shubh_en_narration_gentle" in personas
    assert all(p.count("_") >= 2 for p in personas)
    assert not personas & by_model["bulbul:v3"]
