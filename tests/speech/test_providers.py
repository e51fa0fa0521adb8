"""The Smallest.ai, Telnyx and Sarvam clients against their emulators.

What every provider shares (the lifecycle) runs for all four; then each
provider's own rules: message shapes, keep-alives, fallbacks, refusals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

import aiohttp
import pytest

from custom_components.streaming_tts.speech import (
    PROVIDERS,
    AudioEncoding,
    Deadlines,
    SarvamClient,
    SmallestClient,
    SpeechAuthError,
    SpeechConnectionError,
    SpeechError,
    SpeechProviderError,
    SpeechTimeoutError,
    SpeechVoiceError,
    StreamingClient,
    SynthesisOptions,
    TelnyxClient,
    sarvam,
    smallest,
    telnyx,
)
from custom_components.streaming_tts.speech.text import clean_text
from tests.conftest import API_KEY, ProviderCase
from tests.emulators import EmulatorServer
from tests.emulators.sarvam import ErrorCodeStyle, SarvamEmulator
from tests.emulators.smallest import ErrorShape, SmallestEmulator, SseShape
from tests.emulators.synth import audio_seconds
from tests.emulators.telnyx import TelnyxEmulator

from .helpers import ANSWER, TextFeed, collect, decoded_seconds

pytestmark = pytest.mark.usefixtures("socket_enabled")

FAST = Deadlines(connect=2.0, first_audio=1.0, chunk_gap=1.0, close=1.0)


def words(text: str) -> str:
    """Return the words of a text, whitespace normalised."""
    return " ".join(text.split())


async def one(text: str) -> AsyncGenerator[str]:
    """A text stream of one chunk."""
    yield text


async def paused(*parts: str, pause: float) -> AsyncGenerator[str]:
    """A writer that thinks for `pause` seconds before each part."""
    for part in parts:
        await asyncio.sleep(pause)
        yield part


def make_client(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    deadlines: Deadlines = FAST,
) -> StreamingClient:
    """A client of the case's provider, pointed at its emulator."""
    return PROVIDERS[case.provider](
        http, API_KEY, base_url=emulator.base_url, deadlines=deadlines
    )


def options_for(
    client: StreamingClient, voice: str, language: str | None = None, **extra: Any
) -> SynthesisOptions:
    """MP3 where the provider streams it, else PCM."""
    return SynthesisOptions(
        voice=voice,
        audio_format=client.audio_format(AudioEncoding.MP3),
        language=language,
        settings=client.parse_settings(extra),
    )


# The shared lifecycle runs for every provider in test_lifecycle.py; this file
# keeps what is specific to each provider.


# Smallest.ai


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
@pytest.mark.parametrize("close_after_complete", [False, True])
@pytest.mark.parametrize(
    ("text", "final_flush"),
    [("Namaste. How are you?", False), ("Namaste. How are you", True)],
)
async def test_smallest_request_shape(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: SmallestEmulator,
    close_after_complete: bool,
    text: str,
    final_flush: bool,
) -> None:
    """Fragments with continue, settings repeated, an empty end; close or not.

    The end flushes only when words are left unspoken: an empty flush would
    be answered, or not, depending on the server.
    """
    emulator.config.close_after_complete = close_after_complete
    client = make_client(case, http, emulator)
    options = SynthesisOptions(
        voice="meher",
        audio_format=client.audio_format(AudioEncoding.PCM_S16LE, 44100),
        language="hi",
        settings=client.parse_settings(
            {"speed": 1.25, smallest.MODEL: "lightning_v3.1_pro"}
        ),
    )
    audio = await collect(client.stream(TextFeed(text)(), options))
    assert decoded_seconds(audio.audio, "wav", 44100) == pytest.approx(
        audio_seconds(text), abs=0.2
    )
    session = emulator.sessions[-1]
    for message in session.messages:
        assert message["voice_id"] == "meher"
        assert message["model"] == "lightning_v3.1_pro"
        assert message["sample_rate"] == 44100
        assert message["speed"] == 1.25
        assert message["language"] == "hi"
    assert session.messages[-1] | {"voice_id": None} == {
        **session.messages[-1], "voice_id": None, "text": "", "continue": False,
        "flush": final_flush,
    }  # fmt: skip
    assert all(m["continue"] for m in session.messages[:-1])
    assert session.finished
    async with asyncio.timeout(2):
        await emulator.wait_closed()


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
async def test_smallest_completes_for_every_flush(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: SmallestEmulator
) -> None:
    """A server that also answers mid-text flushes with complete loses no audio."""
    emulator.config.completion = "text_flush"
    client = make_client(case, http, emulator)
    options = options_for(client, "magnus")
    audio = await collect(client.stream(TextFeed(ANSWER, interval=0.01)(), options))
    rate = options.audio_format.sample_rate
    assert decoded_seconds(audio.audio, "wav", rate) == pytest.approx(
        audio_seconds(clean_text(ANSWER)), abs=0.3
    )
    assert emulator.sessions[-1].completes > 1


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
@pytest.mark.parametrize("shape", ["flat", "nested"])
async def test_smallest_falls_back_to_sse(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: SmallestEmulator,
    shape: SseShape,
) -> None:
    """No WebSocket route: each sentence is posted as it is complete, SSE read back."""
    emulator.config.websocket_enabled = False
    emulator.config.sse_shape = shape
    client = make_client(case, http, emulator)
    options = options_for(client, "magnus")
    audio = await collect(client.stream(TextFeed(ANSWER, interval=0.01)(), options))
    rate = options.audio_format.sample_rate
    assert decoded_seconds(audio.audio, "wav", rate) == pytest.approx(
        audio_seconds(clean_text(ANSWER)), abs=0.3
    )
    assert not emulator.sessions
    texts = [words(request.text) for request in emulator.sse_requests]
    assert " ".join(texts) == words(clean_text(ANSWER))
    assert len(texts) == 4  # one request per sentence


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
async def test_smallest_sse_refusal_is_reported(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: SmallestEmulator
) -> None:
    emulator.config.websocket_enabled = False
    client = make_client(case, http, emulator)
    with pytest.raises(SpeechVoiceError, match="voice"):
        await collect(client.stream(one("Hello."), options_for(client, "nobody")))


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
@pytest.mark.parametrize("shape", ["message", "error", "nested"])
async def test_smallest_error_shapes(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: SmallestEmulator,
    shape: ErrorShape,
) -> None:
    emulator.config.error_shape = shape
    emulator.config.error_after_chunks = 1
    client = make_client(case, http, emulator)
    with pytest.raises(SpeechProviderError):
        await collect(client.stream(one(ANSWER), options_for(client, "magnus")))


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
async def test_smallest_voices(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: SmallestEmulator
) -> None:
    client = make_client(case, http, emulator)
    voices = {voice.voice_id: voice for voice in await client.list_voices()}
    assert voices["meher"].name == "Meher"
    assert voices["meher"].languages == ("english", "hindi")
    assert voices["magnus"].gender == "male"


# Telnyx


@pytest.mark.parametrize("case", ["telnyx"], indirect=True)
async def test_telnyx_session_shape(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: TelnyxEmulator
) -> None:
    """Voice in the URL, settings in the handshake, flushes on the text, an empty end."""
    client = make_client(case, http, emulator)
    options = SynthesisOptions(
        voice="Telnyx.NaturalHD.astra",
        audio_format=client.audio_format(AudioEncoding.PCM_S16LE),
        settings=client.parse_settings({"speed": 1.2}),
    )
    assert options.audio_format.encoding is AudioEncoding.MP3  # MP3 only
    audio = await collect(client.stream(TextFeed(ANSWER, interval=0.005)(), options))
    assert decoded_seconds(audio.audio) == pytest.approx(
        audio_seconds(clean_text(ANSWER)), abs=0.4
    )
    session = emulator.sessions[-1]
    assert session.query["voice"] == "Telnyx.NaturalHD.astra"
    assert session.query["audio_format"] == "mp3"
    assert session.voice_settings == {"voice_speed": 1.2}
    assert session.messages[0] == {"text": " ", "voice_settings": {"voice_speed": 1.2}}
    assert session.messages[-1] == {"text": ""}
    assert session.flushes >= 3
    assert session.finished


@pytest.mark.parametrize("case", ["telnyx"], indirect=True)
@pytest.mark.parametrize(
    ("text_frames", "type_field", "final_after_each_synthesis"),
    [(True, False, True), (False, True, False)],
)
async def test_telnyx_frame_variants(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: TelnyxEmulator,
    text_frames: bool,
    type_field: bool,
    final_after_each_synthesis: bool,
) -> None:
    """audio:null frames, a type field or not, finals per sentence or once: all fine."""
    emulator.config.text_frames = text_frames
    emulator.config.type_field = type_field
    emulator.config.final_after_each_synthesis = final_after_each_synthesis
    client = make_client(case, http, emulator)
    audio = await collect(
        client.stream(one(ANSWER), options_for(client, "Telnyx.NaturalHD.luna"))
    )
    assert decoded_seconds(audio.audio) == pytest.approx(
        audio_seconds(clean_text(ANSWER)), abs=0.4
    )


@pytest.mark.parametrize("case", ["telnyx"], indirect=True)
@pytest.mark.parametrize("wav_headers", [False, True])
@pytest.mark.parametrize("rate", [16000, 48000])
async def test_telnyx_natural_voices_stream_pcm(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: TelnyxEmulator,
    wav_headers: bool,
    rate: int,
) -> None:
    """linear16 at the asked rate: one WAV out, whether or not chunks carry headers."""
    emulator.config.linear16_wav_headers = wav_headers
    client = make_client(case, http, emulator)
    options = SynthesisOptions(
        voice="Telnyx.NaturalHD.astra",
        audio_format=client.audio_format(
            AudioEncoding.PCM_S16LE, rate, voice="Telnyx.NaturalHD.astra"
        ),
    )
    assert options.audio_format.sample_rate == rate
    audio = await collect(client.stream(TextFeed(ANSWER)(), options))
    assert audio.audio.count(b"RIFF") == 1
    assert decoded_seconds(audio.audio, "wav", rate) == pytest.approx(
        audio_seconds(clean_text(ANSWER)), abs=0.3
    )
    session = emulator.sessions[-1]
    assert (session.query["audio_format"], session.query["sample_rate"]) == (
        "linear16",
        str(rate),
    )


def test_telnyx_other_families_stay_mp3() -> None:
    """KokoroTTS and the like answer in MP3 whatever is asked: never ask them for PCM."""
    audio = TelnyxClient.audio_format(
        AudioEncoding.PCM_S16LE, 16000, voice="Telnyx.KokoroTTS.af_heart"
    )
    assert audio.encoding is AudioEncoding.MP3
    assert telnyx.speaks_pcm("telnyx.naturalhd.luna")
    assert not telnyx.speaks_pcm("Telnyx.Qwen3TTS.x")


@pytest.mark.parametrize("case", ["telnyx"], indirect=True)
@pytest.mark.parametrize(
    ("voice", "message"),
    [("Telnyx.Ultra.nova", "cannot stream"), ("nobody", "refused voice")],
)
async def test_telnyx_refused_voices(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: TelnyxEmulator,
    voice: str,
    message: str,
) -> None:
    client = make_client(case, http, emulator)
    with pytest.raises(SpeechVoiceError, match=message):
        await collect(client.stream(one("Hello."), options_for(client, voice)))


@pytest.mark.parametrize("case", ["telnyx"], indirect=True)
async def test_telnyx_abandoned_stream_is_stopped(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: TelnyxEmulator
) -> None:
    """A listener that leaves: {"force": true} stops the synthesis before closing."""
    client = make_client(case, http, emulator)
    stream = client.stream(one(ANSWER * 4), options_for(client, case.voice))
    async for _chunk in stream:
        break
    await stream.aclose()
    async with asyncio.timeout(2):
        await emulator.wait_closed()
    assert {"force": True} in emulator.sessions[-1].messages


@pytest.mark.parametrize("case", ["telnyx"], indirect=True)
async def test_telnyx_voices(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: TelnyxEmulator
) -> None:
    client = make_client(case, http, emulator)
    listed = await client.list_voices()
    voices = {voice.voice_id: voice for voice in listed}
    assert voices["Telnyx.NaturalHD.astra"].title == "Astra (Telnyx NaturalHD)"
    assert voices["AWS.Polly.Vicki-Neural"].title == "Vicki (Amazon Polly)"
    assert voices["azure.de-DE-ConradNeural"].title == "Conrad (Azure)"
    assert voices["Telnyx.KokoroTTS.af_heart"].family == "Telnyx KokoroTTS"
    assert voices["AWS.Polly.Vicki-Neural"].languages == ("de-DE",)
    assert "Telnyx.Ultra.nova" not in voices  # listed, but it cannot stream
    # The Natural families (speed, PCM) come first: the form offers the first.
    natural = [telnyx.speaks_pcm(voice.voice_id) for voice in listed]
    assert natural == sorted(natural, reverse=True)
    assert natural[0]


@pytest.mark.parametrize("case", ["telnyx"], indirect=True)
@pytest.mark.parametrize(
    ("voice", "sent"),
    [("Telnyx.NaturalHD.astra", True), ("Telnyx.Natural.allison", True),
     ("AWS.Polly.Danielle-Neural", False), ("azure.de-DE-ConradNeural", False),
     ("Telnyx.KokoroTTS.af_heart", False)],
)  # fmt: skip
async def test_telnyx_speed_only_for_voices_that_take_it(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: TelnyxEmulator,
    voice: str,
    sent: bool,
) -> None:
    """Other families ignore voice_speed: it is not sent to them, and they still speak."""
    client = make_client(case, http, emulator)
    options = SynthesisOptions(
        voice=voice,
        audio_format=client.audio_format(AudioEncoding.MP3),
        settings=client.parse_settings({"speed": 1.5}),
    )
    audio = await collect(client.stream(TextFeed("Hello there.")(), options))
    assert audio.audio
    handshake = emulator.sessions[-1].messages[0]
    assert handshake["text"] == " "
    assert ("voice_settings" in handshake) is sent
    if sent:
        assert handshake["voice_settings"] == {"voice_speed": 1.5}


# Sarvam


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
@pytest.mark.parametrize(
    ("model", "voice", "tuned"),
    [("bulbul:v3", "shubh", False), ("bulbul:v2", "anushka", True),
     ("bulbul:v4-flash", "shubh_en_narration_gentle", True)],
)  # fmt: skip
async def test_sarvam_config(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: SarvamEmulator,
    model: str,
    voice: str,
    tuned: bool,
) -> None:
    """The model in the URL, config first; pitch and loudness only where they apply."""
    client = make_client(case, http, emulator)
    options = SynthesisOptions(
        voice=voice,
        audio_format=client.audio_format(AudioEncoding.MP3),
        language="hi-IN",
        settings=client.parse_settings(
            {
                "speed": 0.8,
                sarvam.MODEL: model,
                sarvam.PITCH: 0.25,
                sarvam.LOUDNESS: 1.5,
            }
        ),
    )
    audio = await collect(client.stream(TextFeed(ANSWER)(), options))
    assert decoded_seconds(audio.audio) == pytest.approx(
        audio_seconds(clean_text(ANSWER)), abs=0.4
    )
    session = emulator.sessions[-1]
    assert session.model == model
    assert session.query["send_completion_event"] == "true"
    config = session.config
    assert config["language_code"] == "hi-IN"
    assert config["speaker"] == voice
    assert config["pace"] == 0.8
    assert config["speech_sample_rate"] == 24000
    assert config["output_audio_codec"] == "mp3"
    assert ("pitch" in config and "loudness" in config) is tuned
    assert session.language_field == "language_code"


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
@pytest.mark.parametrize("wav_chunk_header", [False, True])
async def test_sarvam_pcm(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: SarvamEmulator,
    wav_chunk_header: bool,
) -> None:
    """Linear PCM in one WAV, whether or not the server puts headers on its chunks."""
    emulator.config.wav_chunk_header = wav_chunk_header
    client = make_client(case, http, emulator)
    options = SynthesisOptions(
        voice="shubh",
        audio_format=client.audio_format(AudioEncoding.PCM_S16LE, 16000),
        language="en-IN",
    )
    audio = await collect(client.stream(TextFeed(ANSWER)(), options))
    assert audio.audio.count(b"RIFF") == 1
    assert decoded_seconds(audio.audio, "wav", 16000) == pytest.approx(
        audio_seconds(clean_text(ANSWER)), abs=0.3
    )
    assert emulator.sessions[-1].config["output_audio_codec"] == "linear16"


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
async def test_sarvam_long_text_is_sent_in_pieces(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: SarvamEmulator
) -> None:
    """No text message exceeds 2500 characters, even for one endless sentence."""
    text = "word " * 1200
    client = make_client(case, http, emulator)
    await collect(client.stream(one(text), options_for(client, "shubh", "en-IN")))
    session = emulator.sessions[-1]
    assert max(len(part) for part in session.text_parts) <= 2500
    assert words(session.text) == words(text)


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
@pytest.mark.parametrize("style", ["in_message", "code_field"])
async def test_sarvam_unknown_speaker(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: SarvamEmulator,
    style: ErrorCodeStyle,
) -> None:
    emulator.config.error_code_style = style
    client = make_client(case, http, emulator)
    with pytest.raises(SpeechVoiceError, match="Speaker"):
        await collect(client.stream(one("Hello."), options_for(client, "nobody")))


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
async def test_sarvam_speaker_of_another_model_fails_before_connecting(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: SarvamEmulator
) -> None:
    client = make_client(case, http, emulator)
    with pytest.raises(SpeechVoiceError, match="does not speak with"):
        client.stream(one("Hello."), options_for(client, "anushka"))
    assert not emulator.sessions


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
async def test_sarvam_voices(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: SarvamEmulator
) -> None:
    """Built-in speakers per model from the catalogue, cloned ones from the API."""
    client = make_client(case, http, emulator)
    voices = {voice.voice_id: voice for voice in await client.list_voices()}
    assert voices["shubh"].models == ("bulbul:v3",)
    assert voices["anushka"].models == ("bulbul:v2",)
    assert voices["shubh_en_narration_gentle"].name == "Shubh (en, narration gentle)"
    assert voices["vc_5f2a9c7e41d84b0c"].models == ()
    assert voices["vc_5f2a9c7e41d84b0c"].name == "Meera Studio"


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
@pytest.mark.parametrize("key", [API_KEY, "wrong-key"])
async def test_sarvam_key_check_without_the_voices_endpoint(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: SarvamEmulator,
    key: str,
) -> None:
    """Where the (beta) voices endpoint is missing, the key is checked on the stream."""
    emulator.config.voices_endpoint = False
    client = SarvamClient(http, key, base_url=emulator.base_url, deadlines=FAST)
    if key == API_KEY:
        voices = await client.list_voices()
        assert len(voices) == sum(len(s) for s in sarvam.SPEAKERS.values())
    else:
        with pytest.raises(SpeechAuthError):
            await client.list_voices()
    async with asyncio.timeout(2):
        await emulator.wait_closed()


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
async def test_sarvam_internal_error(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: SarvamEmulator
) -> None:
    emulator.config.error_after_chunks = 1
    client = make_client(case, http, emulator)
    with pytest.raises(SpeechProviderError, match="Internal Server Error"):
        await collect(client.stream(one(ANSWER), options_for(client, "shubh")))


# Keys never leak


@pytest.mark.parametrize(
    "client_type", [SmallestClient, TelnyxClient, SarvamClient], ids=str
)
async def test_key_is_not_in_unreachable_errors(
    http: aiohttp.ClientSession, client_type: Callable[..., StreamingClient]
) -> None:
    secret = "sk-very-secret-key"
    client = client_type(http, secret, base_url="http://127.0.0.1:9", deadlines=FAST)
    with pytest.raises(SpeechError) as err:
        await client.list_voices()
    assert secret not in str(err.value)
    options = options_for(client, "voice")
    with pytest.raises(SpeechError) as err:
        await collect(client.stream(one("Hello."), options))
    assert secret not in str(err.value)
    assert isinstance(err.value, (SpeechConnectionError, SpeechTimeoutError))
