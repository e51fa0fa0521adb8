"""The LMNT client and the shared session layer, against the LMNT emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
import struct
import time
from typing import Any

import aiohttp
import pytest

from custom_components.streaming_tts.speech import (
    AudioEncoding,
    AudioFormat,
    Deadlines,
    LmntClient,
    SpeechAuthError,
    SpeechConnectionError,
    SpeechNoTextError,
    SpeechProviderError,
    SpeechQuotaError,
    SpeechRateLimitError,
    SpeechRequestError,
    SpeechTimeoutError,
    SpeechVoiceError,
    SynthesisOptions,
)
from custom_components.streaming_tts.speech.audio import AudioClock
from custom_components.streaming_tts.speech.events import FlushDone, Progress
from custom_components.streaming_tts.speech.lmnt import LmntProtocol
from custom_components.streaming_tts.speech.models import SENTENCE_FLUSHES, FlushPolicy
from custom_components.streaming_tts.speech.text import clean_text
from tests.conftest import API_KEY
from tests.emulators import LmntEmulator
from tests.emulators.synth import audio_seconds

from .helpers import ANSWER, Collected, TextFeed, collect, decoded_seconds

# Real sockets on 127.0.0.1: the emulator, and deliberately unreachable ports.
pytestmark = pytest.mark.usefixtures("socket_enabled")

MP3 = AudioFormat(AudioEncoding.MP3, 24000)
OPTIONS = SynthesisOptions(voice="leah", audio_format=MP3, language="en")
FAST = Deadlines(connect=2.0, first_audio=1.0, chunk_gap=1.0, close=1.0)


@pytest.fixture
def client(http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator) -> LmntClient:
    """A client pointed at the emulator, with short deadlines."""
    return LmntClient(http, API_KEY, base_url=lmnt_emulator.base_url, deadlines=FAST)


async def one(text: str) -> AsyncGenerator[str]:
    """A text stream of one chunk."""
    yield text


async def test_voices(client: LmntClient) -> None:
    voices = await client.list_voices()
    assert voices
    assert [v.name.casefold() for v in voices] == sorted(
        v.name.casefold() for v in voices
    )
    assert "leah" in {v.voice_id for v in voices}


async def test_voices_bad_key(
    http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator
) -> None:
    client = LmntClient(http, "wrong-key", base_url=lmnt_emulator.base_url)
    with pytest.raises(SpeechAuthError) as err:
        await client.list_voices()
    assert "wrong-key" not in str(err.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, SpeechProviderError), (429, SpeechRateLimitError), (402, SpeechQuotaError),
     (400, SpeechRequestError)],
)  # fmt: skip
async def test_voices_http_errors(
    client: LmntClient, lmnt_emulator: LmntEmulator, status: int, error: type[Exception]
) -> None:
    lmnt_emulator.config.rest_status_override = status
    with pytest.raises(error):
        await client.list_voices()


async def test_voices_unreachable(http: aiohttp.ClientSession) -> None:
    client = LmntClient(http, API_KEY, base_url="http://127.0.0.1:9", deadlines=FAST)
    with pytest.raises(SpeechConnectionError):
        await client.list_voices()


async def test_stream_streams_both_ways(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    """Text goes out as it is written; audio comes back before the text has ended."""
    feed = TextFeed(ANSWER, interval=0.02)
    result = await collect(client.stream(feed(), OPTIONS))

    session = lmnt_emulator.sessions[-1]
    expected = clean_text(ANSWER)
    assert session.text == expected
    assert session.init["voice"] == "leah"
    assert session.init["format"] == "mp3"
    assert session.init["language"] == "en"
    assert session.init["lmnt-version"] == "1.2"
    assert session.finished
    # Every sentence end is flushed as soon as it is written.
    for sentence_end in ("Sure!", "21 degrees.", "24.5 degrees.", "the blinds?"):
        assert any(segment.endswith(sentence_end) for segment in session.segments)
    assert session.flush_nonces == sorted(session.flush_nonces)
    # The first audio arrived while the writer was still writing.
    assert feed.ended is not None
    assert result.times[0] < feed.ended
    seconds = decoded_seconds(result.audio)
    assert seconds == pytest.approx(audio_seconds(expected), abs=0.1 * 4)


async def test_text_is_sent_whole_words(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    feed = TextFeed("One two three four five six seven.", token_chars=3, interval=0)
    await collect(client.stream(feed(), OPTIONS))
    texts = [
        m["text"]
        for m in lmnt_emulator.sessions[-1].messages
        if m.get("type") == "text"
    ]
    assert len(texts) > 1
    for piece in texts:
        assert not piece.endswith(" ")
        for word in piece.split():
            assert word in {"One", "two", "three", "four", "five", "six", "seven."}


async def test_pcm_comes_in_a_streaming_wav(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    pcm = client.audio_format(AudioEncoding.PCM_S16LE, 16000)
    options = SynthesisOptions(voice="leah", audio_format=pcm)
    result = await collect(client.stream(one("Hello there, general Kenobi."), options))
    audio = result.audio
    assert audio[:4] == b"RIFF"
    assert audio[8:16] == b"WAVEfmt "
    assert struct.unpack("<I", audio[24:28])[0] == 16000
    assert struct.unpack("<I", audio[40:44])[0] == 0xFFFFFFFF
    assert (
        len(audio[44:])
        == round(audio_seconds("Hello there, general Kenobi.") * 16000) * 2
    )
    assert lmnt_emulator.sessions[-1].init["format"] == "pcm_s16le"
    assert lmnt_emulator.sessions[-1].init["sample_rate"] == 16000
    assert "language" not in lmnt_emulator.sessions[-1].init


def test_audio_format_choice() -> None:
    assert LmntClient.audio_format(AudioEncoding.MP3, 8000) == MP3
    pcm = AudioEncoding.PCM_S16LE
    assert LmntClient.audio_format(pcm).sample_rate == 24000
    assert LmntClient.audio_format(pcm, 16000).sample_rate == 16000
    assert LmntClient.audio_format(pcm, 22050).sample_rate == 24000
    assert LmntClient.audio_format(pcm, 48000).sample_rate == 24000


@pytest.mark.parametrize(
    "options",
    [
        SynthesisOptions(
            voice="leah", audio_format=AudioFormat(AudioEncoding.PCM_S16LE, 44100)
        ),
        SynthesisOptions(
            voice="leah", audio_format=AudioFormat(AudioEncoding.MP3, 24000, 2)
        ),
        SynthesisOptions(voice="leah", audio_format=MP3, language="xx"),
        SynthesisOptions(voice="leah", audio_format=MP3, speed=1.5),
    ],
)
def test_unsupported_options_fail_before_connecting(
    client: LmntClient, lmnt_emulator: LmntEmulator, options: SynthesisOptions
) -> None:
    with pytest.raises(SpeechRequestError):
        client.stream(one("Hello."), options)
    assert not lmnt_emulator.sessions


async def test_wrong_key_at_synthesis(
    http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator
) -> None:
    client = LmntClient(
        http, "wrong-key", base_url=lmnt_emulator.base_url, deadlines=FAST
    )
    feed = TextFeed(ANSWER)
    with pytest.raises(SpeechAuthError) as err:
        await collect(client.stream(feed(), OPTIONS))
    assert "wrong-key" not in str(err.value)
    assert feed.closed
    await lmnt_emulator.wait_closed()


async def test_unknown_voice(client: LmntClient, lmnt_emulator: LmntEmulator) -> None:
    options = SynthesisOptions(voice="nobody", audio_format=MP3)
    with pytest.raises(SpeechVoiceError):
        await collect(client.stream(one("Hello."), options))
    await lmnt_emulator.wait_closed()


@pytest.mark.parametrize(
    ("slug", "error"),
    [("payment_required_error", SpeechQuotaError), ("rate_limit_error", SpeechRateLimitError),
     ("internal_server_error", SpeechProviderError)],
)  # fmt: skip
async def test_rejections_map_to_errors(
    client: LmntClient, lmnt_emulator: LmntEmulator, slug: str, error: type[Exception]
) -> None:
    lmnt_emulator.config.reject_with = (slug, f"refused {API_KEY}")
    with pytest.raises(error) as err:
        await collect(client.stream(one("Hello."), OPTIONS))
    # Servers echo requests back; the key must not travel on in our errors.
    assert API_KEY not in str(err.value)


async def test_provider_error_mid_stream(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    lmnt_emulator.config.error_after_chunks = 2
    received: list[bytes] = []
    with pytest.raises(SpeechProviderError):
        async for chunk in client.stream(one(ANSWER), OPTIONS):
            received.append(chunk)
    assert len(received) == 2
    await lmnt_emulator.wait_closed()


async def test_provider_stall_hits_the_deadline(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    lmnt_emulator.config.stall_after_chunks = 1
    started = time.monotonic()
    with pytest.raises(SpeechTimeoutError):
        await collect(client.stream(one(ANSWER), OPTIONS))
    assert time.monotonic() - started < FAST.chunk_gap + 1.0
    await lmnt_emulator.wait_closed()


async def test_dropped_connection(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    lmnt_emulator.config.drop_after_chunks = 1
    with pytest.raises(SpeechConnectionError):
        await collect(client.stream(one(ANSWER), OPTIONS))
    await lmnt_emulator.wait_closed()


async def test_slow_handshake_hits_the_connect_deadline(
    http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator
) -> None:
    lmnt_emulator.config.handshake_delay = 1.0
    deadlines = Deadlines(connect=0.2, first_audio=1.0, chunk_gap=1.0)
    client = LmntClient(
        http, API_KEY, base_url=lmnt_emulator.base_url, deadlines=deadlines
    )
    with pytest.raises(SpeechTimeoutError):
        await collect(client.stream(one("Hello."), OPTIONS))


async def test_unreachable_stream(http: aiohttp.ClientSession) -> None:
    client = LmntClient(http, API_KEY, base_url="http://127.0.0.1:9", deadlines=FAST)
    with pytest.raises(SpeechConnectionError):
        await collect(client.stream(one("Hello."), OPTIONS))


async def test_slow_writer_is_not_a_stall(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    """No deadline runs while only the writer is slow."""

    async def slow() -> AsyncGenerator[str]:
        yield "First sentence. "
        await asyncio.sleep(FAST.chunk_gap * 1.5)
        yield "Second sentence."

    result = await collect(client.stream(slow(), OPTIONS))
    assert lmnt_emulator.sessions[-1].text == "First sentence. Second sentence."
    assert decoded_seconds(result.audio) > 1.5


@pytest.mark.parametrize("text", ["", "   ", "🎉🎉", "```\ncode\n```"])
async def test_nothing_to_speak(
    client: LmntClient, lmnt_emulator: LmntEmulator, text: str
) -> None:
    with pytest.raises(SpeechNoTextError):
        await collect(client.stream(one(text), OPTIONS))
    await lmnt_emulator.wait_closed()


async def test_writer_failure_ends_the_stream(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    async def broken() -> AsyncGenerator[str]:
        yield "Hello there. "
        raise RuntimeError("the model failed")

    with pytest.raises(RuntimeError, match="the model failed"):
        await collect(client.stream(broken(), OPTIONS))
    await lmnt_emulator.wait_closed()


async def test_consumer_leaving_closes_everything(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    """A player that goes away ends the provider session and the text pump."""
    feed = TextFeed(ANSWER * 3, interval=0.01)
    stream = client.stream(feed(), OPTIONS)
    async for _chunk in stream:
        break
    await stream.aclose()
    assert feed.closed
    await lmnt_emulator.wait_closed()
    assert lmnt_emulator.sessions[-1].client_closed


async def test_cancellation_closes_everything(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    feed = TextFeed(ANSWER * 3, interval=0.05)
    first_chunk = asyncio.Event()

    async def consume() -> None:
        async for _chunk in client.stream(feed(), OPTIONS):
            first_chunk.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_chunk.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert feed.closed
    await lmnt_emulator.wait_closed()


async def test_synthesize_whole_text(client: LmntClient) -> None:
    audio = await client.synthesize("A whole text at once.", OPTIONS)
    assert decoded_seconds(audio) == pytest.approx(
        audio_seconds("A whole text at once."), abs=0.15
    )


async def test_voice_list_timeout(
    http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator
) -> None:
    lmnt_emulator.config.handshake_delay = 1.0
    deadlines = Deadlines(connect=0.2)
    client = LmntClient(
        http, API_KEY, base_url=lmnt_emulator.base_url, deadlines=deadlines
    )
    with pytest.raises(SpeechTimeoutError):
        await client.list_voices()


async def test_refused_upgrade(
    http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator
) -> None:
    """An HTTP error instead of the WebSocket upgrade (here: a wrong API path)."""
    client = LmntClient(
        http, API_KEY, base_url=f"{lmnt_emulator.base_url}/wrong", deadlines=FAST
    )
    with pytest.raises(SpeechRequestError, match="HTTP 404"):
        await collect(client.stream(one("Hello."), OPTIONS))


def test_protocol_messages() -> None:
    """Message shapes the emulator never sends: older errors, unknown types, acks."""
    protocol = LmntProtocol("https://api.lmnt.com", API_KEY, OPTIONS)
    assert protocol.url() == "wss://api.lmnt.com/v1/ai/speech/stream"
    assert protocol.flush() == [{"type": "flush", "nonce": 1}]
    assert protocol.flush() == [{"type": "flush", "nonce": 2}]
    assert list(protocol.on_text({"type": "something_new"})) == [Progress()]
    assert list(protocol.on_text({"complete": "flush", "nonce": 1})) == [FlushDone()]
    with pytest.raises(SpeechProviderError, match="LMNT: overloaded"):
        protocol.on_text({"error": "overloaded"})
    with pytest.raises(SpeechAuthError) as err:
        protocol.on_text(
            {
                "type": "error",
                "error": {
                    "type": "authentication_error",
                    "message": f"bad key {API_KEY}",
                },
            }
        )
    assert API_KEY not in str(err.value)


def gaps(result: Collected, audio_format: AudioFormat = MP3) -> float:
    """Silence a player inserts that starts at the first byte and plays in real time."""
    clock = AudioClock(audio_format)
    silence, playing_until = 0.0, result.times[0]
    for arrived, chunk in zip(result.times, result.chunks, strict=True):
        if arrived > playing_until:
            silence += arrived - playing_until
            playing_until = arrived
        playing_until += clock.feed(chunk)
    return silence


LONG_SENTENCE = (
    "The living room lights are on and set to a warm white at sixty percent "
    "brightness, and the kitchen lights will switch off in ten minutes."
)


async def test_first_words_are_spoken_before_the_sentence_ends(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    feed = TextFeed(LONG_SENTENCE, interval=0.02)
    result = await collect(client.stream(feed(), OPTIONS))
    segments = lmnt_emulator.sessions[-1].segments
    assert segments[0] == "The living room"
    assert feed.ended is not None
    assert result.times[0] < feed.ended - 0.5


async def test_sentence_flush_policy(
    http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator
) -> None:
    """The natural policy: the provider gets exactly the sentences."""
    client = LmntClient(
        http, API_KEY, base_url=lmnt_emulator.base_url, flush_policy=SENTENCE_FLUSHES
    )
    feed = TextFeed(ANSWER, interval=0.005)
    await collect(client.stream(feed(), OPTIONS))
    assert lmnt_emulator.sessions[-1].segments == [
        "Sure!",
        " The living room lights are on, and the thermostat is set to 21 degrees.",
        " Tomorrow will be sunny with a high of 24.5 degrees.",
        " Would you like me to close the blinds?",
    ]


@pytest.mark.parametrize(
    ("policy", "silent"),
    [(FlushPolicy(), False), (FlushPolicy(refill_margin=None), True)],
)
async def test_refills_keep_the_player_busy(
    http: aiohttp.ClientSession,
    lmnt_emulator: LmntEmulator,
    policy: FlushPolicy,
    silent: bool,
) -> None:
    """Speaking early must not mean a silence while the long sentence is written."""
    lmnt_emulator.config.speed = 8.0
    lmnt_emulator.config.first_audio_latency = 0.1
    client = LmntClient(
        http, API_KEY, base_url=lmnt_emulator.base_url, flush_policy=policy
    )
    # 80 characters per second: faster than speech (~17), slower than the sentence.
    result = await collect(
        client.stream(TextFeed(LONG_SENTENCE, interval=0.05)(), OPTIONS)
    )
    assert (gaps(result) > 0.5) is silent
    if not silent:
        assert gaps(result) < 0.05


async def test_a_pause_after_the_first_words_does_not_hold_them(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    """ "Okay," then a tool call that takes seconds: the first words are spoken meanwhile."""
    pause = 1.5

    async def agent() -> AsyncGenerator[str]:
        yield "Okay, "
        await asyncio.sleep(pause)
        yield "the lights are on."

    started = time.monotonic()
    result = await collect(client.stream(agent(), OPTIONS))
    assert lmnt_emulator.sessions[-1].segments == ["Okay,", " the lights are on."]
    assert result.times[0] - started < pause


async def test_a_failed_init_still_closes_the_socket(
    http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator
) -> None:
    """The socket opened, then building the first message failed: it is closed."""

    class BrokenInit(LmntProtocol):
        def open(self) -> list[Mapping[str, Any]]:
            raise SpeechRequestError("cannot describe this session", provider="LMNT")

    class BrokenClient(LmntClient):
        def _protocol(self, options: SynthesisOptions) -> LmntProtocol:
            return BrokenInit(self.base_url, API_KEY, options)

    client = BrokenClient(
        http, API_KEY, base_url=lmnt_emulator.base_url, deadlines=FAST
    )
    with pytest.raises(SpeechRequestError, match="cannot describe"):
        await collect(client.stream(one("Hello."), OPTIONS))
    assert lmnt_emulator.requests[-1].websocket
    await asyncio.wait_for(lmnt_emulator.wait_closed(), 2)
    assert lmnt_emulator.open_connections == 0
