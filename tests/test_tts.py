"""The TTS entity through Home Assistant's real TTS machinery, against each provider's emulator.

Every test runs once per provider (the ``case`` fixture), unless it says otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta
from http import HTTPStatus
import io
import mimetypes
from pathlib import Path
from typing import Any
from unittest.mock import patch
import wave

from homeassistant.components import tts
from homeassistant.components.tts.helper import get_engine_instance
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.streaming_tts import tts as tts_platform
from custom_components.streaming_tts.compat import FORMAT_HINTS
from custom_components.streaming_tts.speech import Deadlines, SpeechRequestError
from custom_components.streaming_tts.speech.text import clean_text
from tests.conftest import ProviderCase
from tests.emulators import EmulatorServer
from tests.emulators.synth import audio_seconds
from tests.speech.helpers import (
    ANSWER,
    TextFeed,
    audio_shape,
    collect,
    decoded_seconds,
    mp3_bitrates,
)

FAST = Deadlines(connect=2.0, first_audio=1.0, chunk_gap=1.0, close=1.0)


def words(text: str) -> str:
    """Return the words of a text, whitespace normalised.

    Providers that are flushed or kept alive with a space receive extra
    spaces between words; what matters is every word, in order, once.
    """
    return " ".join(text.split())


async def chunks(*parts: str) -> AsyncGenerator[str]:
    """Yield the parts as the writer's chunks, none of them joined."""
    for part in parts:
        yield part


async def one(text: str) -> AsyncGenerator[str]:
    """A text stream of one chunk."""
    yield text


async def speak_failing(
    hass: HomeAssistant,
    engine: str,
    text: str,
    options: dict[str, str] | None = None,
    error: type[HomeAssistantError] = HomeAssistantError,
) -> HomeAssistantError:
    """Speak through a stream that must fail; return the translated error."""
    stream = tts.async_create_stream(hass, engine, None, options)
    stream.async_set_message_stream(one(text))
    with pytest.raises(error) as err:
        await collect(stream.async_stream_result())
    return err.value


async def test_entity(
    hass: HomeAssistant, case: ProviderCase, loaded_entry: MockConfigEntry
) -> None:
    state = hass.states.get(case.engine)
    assert state is not None
    entity = get_engine_instance(hass, case.engine)
    assert isinstance(entity, tts.TextToSpeechEntity)
    assert entity.async_supports_streaming_input()
    client = loaded_entry.runtime_data.client
    assert case.language in entity.supported_languages
    assert entity.default_language == case.language
    settings = {option.key: option.default for option in client.options}
    assert entity.default_options == {"voice": case.voice, **settings}
    assert entity.supported_options == ["voice", *settings, *FORMAT_HINTS]


async def test_llm_answer_streams_both_ways(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """An LLM's token deltas in, audio out before the LLM has finished."""
    stream = tts.async_create_stream(hass, case.engine, None)
    feed = TextFeed(ANSWER, interval=0.02)
    stream.async_set_message_stream(feed())
    result = await collect(stream.async_stream_result())

    assert feed.ended is not None
    assert result.times[0] < feed.ended
    session = emulator.sessions[-1]
    assert words(session.text) == words(clean_text(ANSWER))
    assert session.voice == case.voice
    assert decoded_seconds(result.audio) == pytest.approx(
        audio_seconds(words(session.text)), abs=0.5
    )
    await emulator.wait_closed()


async def test_every_path_gives_the_same_speech(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """Token stream, one full-text chunk, and async_get_tts_audio speak the same.

    A full text and async_get_tts_audio agree byte for byte; a token stream may
    reach the provider in other segments, so it agrees in length.
    """
    entity = get_engine_instance(hass, case.engine)
    assert isinstance(entity, tts.TextToSpeechEntity)
    text = "It is sunny. The lights are on."

    async def stream(message_gen: AsyncGenerator[str]) -> tuple[str, bytes]:
        response = await entity.async_stream_tts_audio(
            tts.TTSAudioRequest(
                language=case.language, options={}, message_gen=message_gen
            )
        )
        return response.extension, (await collect(response.data_gen)).audio

    _, by_tokens = await stream(TextFeed(text, interval=0)())
    extension, by_chunk = await stream(one(text))
    called_extension, by_call = await entity.async_get_tts_audio(
        text, case.language, {}
    )

    assert extension == called_extension == case.extension
    assert by_chunk == by_call
    assert decoded_seconds(by_tokens, extension) == pytest.approx(
        decoded_seconds(by_chunk, extension), abs=0.1
    )
    assert [words(s.text) for s in emulator.sessions] == [text] * 3


async def test_full_text_over_http_and_cache(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    hass_client: ClientSessionGenerator,
    tts_cache_dir: Path,
) -> None:
    """The player's path: a URL, then a GET that streams; the cache spares a second call."""
    client = await hass_client()
    message = "Good *morning*! Coffee is ready."

    async def fetch(options: dict[str, str] | None = None) -> bytes:
        response = await client.post(
            "/api/tts_get_url",
            json={
                "engine_id": case.engine,
                "message": message,
                "options": options or {},
            },
        )
        assert response.status == HTTPStatus.OK
        path = (await response.json())["path"]
        audio = await client.get(path)
        assert audio.status == HTTPStatus.OK
        expected_type = mimetypes.guess_type("speech.mp3")[0]
        assert audio.headers["Content-Type"] == expected_type
        return await audio.read()

    first = await fetch()
    assert len(emulator.sessions) == 1
    assert words(emulator.sessions[0].text) == "Good morning! Coffee is ready."
    assert decoded_seconds(first) == pytest.approx(
        audio_seconds("Good morning! Coffee is ready."), abs=0.3
    )
    await hass.async_block_till_done()

    second = await fetch()
    assert len(emulator.sessions) == 1  # served from the cache
    assert decoded_seconds(second) == pytest.approx(decoded_seconds(first), abs=0.01)
    assert any(tts_cache_dir.glob("*.mp3"))

    await fetch({"voice": case.other_voice})
    assert len(emulator.sessions) == 2  # another voice, another cache entry
    assert emulator.sessions[1].voice == case.other_voice


async def test_voices_for_the_pipeline_dropdown(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "tts/engine/voices",
            "engine_id": case.engine,
            "language": case.language,
        }
    )
    response = await client.receive_json()
    assert response["success"]
    voices = response["result"]["voices"]
    assert voices[0] == {"voice_id": case.voice, "name": case.voice_name}
    assert len(voices) > 1


@pytest.mark.parametrize(
    ("options", "container", "rate", "channels"),
    [
        ({"preferred_format": "wav", "preferred_sample_rate": 16000,
          "preferred_sample_channels": 1, "preferred_sample_bytes": 2}, "wav", 16000, 1),
        ({"preferred_format": "flac", "preferred_sample_rate": 48000,
          "preferred_sample_channels": 1, "preferred_sample_bytes": 2}, "flac", 48000, 1),
        ({"preferred_format": "wav", "preferred_sample_rate": 22050}, "wav", 22050, 1),
        ({"preferred_format": "wav", "preferred_sample_rate": 48000,
          "preferred_sample_channels": 2}, "wav", 48000, 2),
        ({"preferred_format": "wav"}, "wav", None, 1),
        ({"preferred_format": "flac"}, "flac", None, 1),
        ({"preferred_format": "mp3", "preferred_sample_rate": 16000}, "mp3", 16000, 1),
        ({"preferred_format": "mp3"}, "mp3", None, 1),
    ],
)  # fmt: skip
@pytest.mark.parametrize("trusted", [False, True], ids=["converted", "as-asked"])
async def test_satellite_formats(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, str | int],
    container: str,
    rate: int | None,
    channels: int,
    trusted: bool,
) -> None:
    """Satellites ask for a format and get exactly that, whoever converts it.

    "as-asked" makes the entity choose as for 2026.11 (the entity's own FLAC,
    WAV at the asked rate); the Home Assistant under test may still convert
    it, which decodes it as any player would.
    """
    monkeypatch.setattr(tts_platform, "TRUSTS_ENGINE_FORMAT", trusted)
    stream = tts.async_create_stream(hass, case.engine, None, options)
    stream.async_set_message_stream(
        TextFeed("Turning on the kitchen lights.", interval=0)()
    )
    audio = (await collect(stream.async_stream_result())).audio
    got_rate, got_channels = audio_shape(audio, container)
    if rate is not None:
        assert got_rate == rate
    assert got_channels == channels
    if container == "wav":
        with wave.open(io.BytesIO(audio)) as wav:
            assert (wav.getframerate(), wav.getnchannels()) == (got_rate, channels)
            assert wav.getsampwidth() == 2
    assert decoded_seconds(audio, container, got_rate) == pytest.approx(
        audio_seconds("Turning on the kitchen lights."), abs=0.15
    )


async def test_constant_bitrate_mp3(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """2026.x's preferred_bitrate: every frame at that bitrate (some decoders need CBR)."""
    options = {"preferred_format": "mp3", "preferred_bitrate": 64}
    if "preferred_bitrate" not in FORMAT_HINTS:  # 2025.12 has no such hint
        with pytest.raises(HomeAssistantError, match="Invalid options"):
            tts.async_create_stream(hass, case.engine, None, options)
        return
    stream = tts.async_create_stream(hass, case.engine, None, options)
    stream.async_set_message_stream(TextFeed("Good night.", interval=0)())
    audio = (await collect(stream.async_stream_result())).audio
    assert mp3_bitrates(audio) == {64000}
    assert decoded_seconds(audio) == pytest.approx(
        audio_seconds("Good night."), abs=0.15
    )


async def test_wrong_key_at_synthesis(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    hass_client: ClientSessionGenerator,
) -> None:
    """A key revoked after set-up: a translated error, and a 500 before any audio."""
    emulator.config.api_keys = {"another-key"}
    err = await speak_failing(hass, case.engine, "Hello there.")
    assert err.translation_key == "invalid_auth"
    await emulator.wait_closed()

    client = await hass_client()
    response = await client.post(
        "/api/tts_get_url", json={"engine_id": case.engine, "message": "Hello again."}
    )
    audio = await client.get((await response.json())["path"])
    assert audio.status == HTTPStatus.INTERNAL_SERVER_ERROR
    await emulator.wait_closed()


async def test_provider_error_mid_stream(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    emulator.config.error_after_chunks = 2
    stream = tts.async_create_stream(hass, case.engine, None)
    stream.async_set_message_stream(one(ANSWER))
    received: list[bytes] = []
    with pytest.raises(HomeAssistantError) as err:
        async for chunk in stream.async_stream_result():
            received.append(chunk)
    assert received
    assert err.value.translation_key == "provider_error"
    await emulator.wait_closed()


async def test_provider_stall(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    loaded_entry.runtime_data.client.deadlines = FAST
    emulator.config.stall_after_chunks = 1
    err = await speak_failing(hass, case.engine, ANSWER)
    assert err.translation_key == "timeout"
    await emulator.wait_closed()


async def test_unknown_voice(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    err = await speak_failing(hass, case.engine, "Hello.", {"voice": "nobody"})
    assert err.translation_key == "voice_not_found"
    await emulator.wait_closed()


@pytest.mark.parametrize("text", ["", "🙂👍", "```python\nprint(1)\n```"])
async def test_nothing_to_speak(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    text: str,
) -> None:
    err = await speak_failing(hass, case.engine, text)
    assert err.translation_key == "no_text"
    await emulator.wait_closed()


async def test_markdown_and_glued_messages(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """What Home Assistant 2025.x sends after a tool call: two messages glued together."""
    text = "Let me check.The **kitchen** light is on 💡. See [docs](https://example.com/x)."
    stream = tts.async_create_stream(hass, case.engine, None)
    stream.async_set_message_stream(TextFeed(text, token_chars=3, interval=0)())
    await collect(stream.async_stream_result())
    assert (
        words(emulator.sessions[-1].text)
        == "Let me check. The kitchen light is on. See docs."
    )


async def test_whitespace_chunks_between_messages(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """What 2026.x sends around a tool call: a lone space between two messages."""

    stream = tts.async_create_stream(hass, case.engine, None)
    stream.async_set_message_stream(
        chunks("Let me", " check.", " ", "\n", " ", "The light", " is on.", " ")
    )
    audio = (await collect(stream.async_stream_result())).audio
    spoken = words(emulator.sessions[-1].text)
    assert spoken == "Let me check. The light is on."
    assert decoded_seconds(audio) == pytest.approx(audio_seconds(spoken), abs=0.2)


async def test_only_whitespace_is_nothing_to_speak(
    hass: HomeAssistant, case: ProviderCase, loaded_entry: MockConfigEntry
) -> None:
    stream = tts.async_create_stream(hass, case.engine, None)
    stream.async_set_message_stream(chunks(" ", "\n", " "))
    with pytest.raises(HomeAssistantError) as err:
        await collect(stream.async_stream_result())
    assert err.value.translation_key == "no_text"


async def test_stream_used_long_after_it_was_made(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    hass_client: ClientSessionGenerator,
) -> None:
    """A pipeline makes its stream at run start, maybe long before the answer.

    Here six minutes pass (past the 5-minute cleanup of unused streams) before
    the message is set. 2026.x keeps the stream once its message is set, and
    the speech is then complete; 2025.12 has dropped the token (core issue
    159242), and its URL answers 404.
    """
    stream = tts.async_create_stream(hass, case.engine, None)
    # Six minutes old, and the cleanup (due 301 s after the stream was made) runs.
    stream.last_used -= 360
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=302))
    await hass.async_block_till_done()
    stream.async_set_message_stream(TextFeed("The oven is preheated.", interval=0)())
    client = await hass_client()
    response = await client.get(stream.url)
    if not hasattr(stream, "_async_mark_used"):  # before 2026.x
        assert response.status == HTTPStatus.NOT_FOUND
        return
    assert response.status == HTTPStatus.OK
    audio = await response.read()
    assert decoded_seconds(audio) == pytest.approx(
        audio_seconds("The oven is preheated."), abs=0.15
    )


async def test_invalid_request_options(
    hass: HomeAssistant, case: ProviderCase, loaded_entry: MockConfigEntry
) -> None:
    with pytest.raises(HomeAssistantError, match="Invalid options"):
        tts.async_create_stream(hass, case.engine, None, {"colour": "red"})
    with pytest.raises(HomeAssistantError, match="not supported"):
        tts.async_create_stream(hass, case.engine, "xx")


async def test_blank_voice_is_refused(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    err = await speak_failing(
        hass, case.engine, "Hello.", {"voice": "  "}, ServiceValidationError
    )
    assert err.translation_key == "voice_required"
    assert not emulator.sessions


async def test_direct_calls_validate_like_home_assistant(
    hass: HomeAssistant, case: ProviderCase, loaded_entry: MockConfigEntry
) -> None:
    """The entity checks what it is given even when called past HA's own checks."""
    entity = get_engine_instance(hass, case.engine)
    assert isinstance(entity, tts.TextToSpeechEntity)
    with pytest.raises(ServiceValidationError) as err:
        await entity.async_get_tts_audio("Hello.", "xx", {})
    assert err.value.translation_key == "language_not_supported"
    refused = SpeechRequestError("the provider cannot do that", provider="X")
    with (
        patch.object(
            loaded_entry.runtime_data.client, "check_options", side_effect=refused
        ),
        pytest.raises(HomeAssistantError) as err,
    ):
        await entity.async_get_tts_audio("Hello.", case.language, {})
    assert err.value.translation_key == "bad_request"


async def test_huge_message(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """A very long full-text message is streamed in sentences, all of it."""
    sentence = "This is sentence number {} of a very long announcement. "
    text = "".join(sentence.format(n) for n in range(300))
    stream = tts.async_create_stream(hass, case.engine, None)
    stream.async_set_message_stream(one(text))
    audio = (await collect(stream.async_stream_result())).audio
    session = emulator.sessions[-1]
    assert words(session.text) == text.strip()
    assert session.flushes >= 300
    assert decoded_seconds(audio) == pytest.approx(
        audio_seconds(text.strip()), rel=0.02
    )


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
async def test_provider_settings_reach_the_provider_and_the_cache_key(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    hass_client: ClientSessionGenerator,
) -> None:
    """tts.speak options override the entry's settings; each is part of the cache key."""
    client = await hass_client()

    async def fetch(options: dict[str, Any]) -> None:
        response = await client.post(
            "/api/tts_get_url",
            json={"engine_id": case.engine, "message": "Hello.", "options": options},
        )
        audio = await client.get((await response.json())["path"])
        assert audio.status == HTTPStatus.OK
        await audio.read()
        await hass.async_block_till_done()

    await fetch({})
    await fetch({"speed": 1.5})
    await fetch({"speed": "1.5"})  # the same speed, as text: cached
    await fetch({"model": "lightning_v3.1_pro"})
    await fetch({"sample_rate": 16000})
    sessions = emulator.sessions
    assert len(sessions) == 4
    assert [(s.speed, s.model, s.sample_rate) for s in sessions] == [
        (1.0, "lightning_v3.1", 44100),
        (1.5, "lightning_v3.1", 44100),
        (1.0, "lightning_v3.1_pro", 44100),
        (1.0, "lightning_v3.1", 16000),
    ]


@pytest.mark.parametrize("case", ["smallest", "sarvam"], indirect=True)
@pytest.mark.parametrize(
    ("options", "option"),
    [({"speed": 5}, "speed"), ({"speed": "fast"}, "speed"), ({"model": "x"}, "model")],
)
async def test_invalid_setting_values(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    options: dict[str, Any],
    option: str,
) -> None:
    err = await speak_failing(
        hass, case.engine, "Hello.", options, ServiceValidationError
    )
    assert err.translation_key == "invalid_option"
    assert err.translation_placeholders["option"] == option
    assert not emulator.sessions


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
async def test_sarvam_voices_follow_the_model(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The pipeline's dropdown offers the configured model's speakers and cloned voices."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "tts/engine/voices", "engine_id": case.engine, "language": "hi-IN"}
    )
    voices = {v["voice_id"] for v in (await client.receive_json())["result"]["voices"]}
    assert {"shubh", "priya", "vc_5f2a9c7e41d84b0c"} <= voices
    assert "anushka" not in voices  # a Bulbul v2 speaker
    err = await speak_failing(hass, case.engine, "Hello.", {"voice": "anushka"})
    assert err.translation_key == "voice_not_found"
