"""The streaming lifecycle every provider shares, for each provider against its emulator.

Text goes out while it is written and audio comes back while it is produced;
every way a stream can end (the listener leaving, cancellation, a dropped
connection, a failing writer, nothing to say, a stall) closes the connection.
What only one provider does lives in that provider's own tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import dataclasses
import struct
import time
from typing import Any

import aiohttp
import pytest

from custom_components.streaming_tts.speech import (
    PROVIDERS,
    SENTENCE_FLUSHES,
    AudioEncoding,
    AudioFormat,
    Deadlines,
    FlushPolicy,
    SpeechAuthError,
    SpeechConnectionError,
    SpeechNoTextError,
    SpeechProviderError,
    SpeechQuotaError,
    SpeechRateLimitError,
    SpeechRequestError,
    SpeechTimeoutError,
    SpeechVoiceError,
    StreamingClient,
    SynthesisOptions,
    telnyx,
)
from tests.conftest import ProviderCase
from tests.emulators import EmulatorServer
from tests.emulators.synth import audio_seconds, synthesize_pcm

from .helpers import (
    ANSWER,
    FAST,
    SPOKEN_ANSWER,
    WAV_HEADER_BYTES,
    Collected,
    TextFeed,
    chunk_seconds,
    collect,
    decoded_seconds,
    make_client,
    words,
)

# Real sockets on 127.0.0.1: the emulators, and deliberately unreachable ports.
pytestmark = pytest.mark.usefixtures("socket_enabled")

UNREACHABLE = "http://127.0.0.1:9"
# The providers that close a connection left quiet, and so get keep-alives.
KEEPALIVE_PROVIDERS = ("smallest", "telnyx", "sarvam")
# Sarvam has no end-of-text message: a last flush, then the client closes.
WITHOUT_END_MESSAGE = ("sarvam",)
# Sarvam speaks by itself once 50 characters are buffered (the client's
# min_buffer_size), so its segments do not show where the client flushed.
SPEAKS_ON_ITS_OWN = ("sarvam",)
LONG_SENTENCE = (
    "The living room lights are on and set to a warm white at sixty percent "
    "brightness, and the kitchen lights will switch off in ten minutes."
)


async def one(text: str) -> AsyncGenerator[str]:
    """A text stream of one chunk."""
    yield text


def seconds_of(audio: bytes, audio_format: AudioFormat) -> float:
    """Return the duration of a whole stream, decoded by ffmpeg."""
    return decoded_seconds(audio, audio_format.container, audio_format.sample_rate)


async def closed(emulator: EmulatorServer[Any]) -> None:
    """Wait until the emulator has no connection open (a leak fails, not hangs)."""
    async with asyncio.timeout(2):
        await emulator.wait_closed()


def gaps(result: Collected, audio_format: AudioFormat) -> float:
    """Silence a player inserts that starts at the first byte and plays in real time."""
    durations = chunk_seconds(
        result.chunks, audio_format.container, audio_format.sample_rate
    )
    silence, playing_until = 0.0, result.times[0]
    for arrived, seconds in zip(result.times, durations, strict=True):
        if arrived > playing_until:
            silence += arrived - playing_until
            playing_until = arrived
        playing_until += seconds
    return silence


# Streaming both ways


async def test_stream_streams_both_ways(
    case: ProviderCase,
    client: StreamingClient,
    options: SynthesisOptions,
    emulator: EmulatorServer[Any],
) -> None:
    """Text goes out as it is written; audio comes back before the text has ended."""
    feed = TextFeed(ANSWER, interval=0.02)
    result = await collect(client.stream(feed(), options))

    session = emulator.sessions[-1]
    assert session.text == SPOKEN_ANSWER
    assert session.finished or case.provider in WITHOUT_END_MESSAGE
    # Every word is spoken once, in order.
    assert words(" ".join(session.segments)) == words(SPOKEN_ANSWER)
    # Every sentence end is flushed as soon as it is written.
    for sentence_end in ("Sure!", "21 degrees.", "24.5 degrees.", "the blinds?"):
        assert case.provider in SPEAKS_ON_ITS_OWN or any(
            segment.endswith(sentence_end) for segment in session.segments
        )
    # The first audio arrived while the writer was still writing.
    assert feed.ended is not None
    assert result.times[0] < feed.ended
    assert seconds_of(result.audio, options.audio_format) == pytest.approx(
        audio_seconds(SPOKEN_ANSWER), abs=0.1 * 4
    )
    await closed(emulator)


async def test_audio_comes_in_the_order_spoken(
    case: ProviderCase, client: StreamingClient, emulator: EmulatorServer[Any]
) -> None:
    """PCM is compared sample for sample: each segment's audio, in order, once."""
    pcm = client.audio_format(AudioEncoding.PCM_S16LE, 16000, voice=case.voice)
    options = SynthesisOptions(voice=case.voice, audio_format=pcm)
    result = await collect(client.stream(TextFeed(ANSWER, interval=0.01)(), options))
    segments = emulator.sessions[-1].segments
    assert len(segments) > 1
    assert result.audio[WAV_HEADER_BYTES:] == b"".join(
        synthesize_pcm(segment, pcm.sample_rate) for segment in segments
    )


async def test_text_is_sent_whole_words(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    feed = TextFeed("One two three four five six seven.", token_chars=3, interval=0)
    await collect(client.stream(feed(), options))
    texts = emulator.sessions[-1].text_parts
    assert len(texts) > 1
    for piece in texts:
        assert not piece.endswith(" ")
        for word in piece.split():
            assert word in {"One", "two", "three", "four", "five", "six", "seven."}


async def test_pcm_comes_in_a_streaming_wav(
    case: ProviderCase, client: StreamingClient
) -> None:
    pcm = client.audio_format(AudioEncoding.PCM_S16LE, 16000, voice=case.voice)
    assert pcm == AudioFormat(AudioEncoding.PCM_S16LE, 16000)
    options = SynthesisOptions(voice=case.voice, audio_format=pcm)
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


async def test_synthesize_whole_text(
    client: StreamingClient, options: SynthesisOptions
) -> None:
    audio = await client.synthesize("A whole text at once.", options)
    assert seconds_of(audio, options.audio_format) == pytest.approx(
        audio_seconds("A whole text at once."), abs=0.15
    )


# When the provider is asked to speak


async def test_first_words_are_spoken_before_the_sentence_ends(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    feed = TextFeed(LONG_SENTENCE, interval=0.02)
    result = await collect(client.stream(feed(), options))
    segments = emulator.sessions[-1].segments
    assert segments[0] == "The living room"
    assert feed.ended is not None
    assert result.times[0] < feed.ended - 0.5


async def test_sentence_flush_policy(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: EmulatorServer[Any]
) -> None:
    """The natural policy: the provider gets exactly the sentences."""
    client = make_client(case, http, emulator.base_url, flush_policy=SENTENCE_FLUSHES)
    options = SynthesisOptions(
        voice=case.voice,
        audio_format=client.audio_format(AudioEncoding.MP3, voice=case.voice),
    )
    feed = TextFeed(ANSWER, interval=0.005)
    await collect(client.stream(feed(), options))
    session = emulator.sessions[-1]
    assert session.flushes == 4
    if case.provider not in SPEAKS_ON_ITS_OWN:
        assert session.segments == [
            "Sure!",
            " The living room lights are on, and the thermostat is set to 21 degrees.",
            " Tomorrow will be sunny with a high of 24.5 degrees.",
            " Would you like me to close the blinds?",
        ]


@pytest.mark.parametrize(
    ("case", "policy", "silent"),
    [
        *(pytest.param(p, FlushPolicy(), False, id=f"{p}-refills") for p in PROVIDERS),
        # Without refills the player falls silent, where only flushes make speech.
        *(
            pytest.param(p, FlushPolicy(refill_margin=None), True, id=f"{p}-none")
            for p in PROVIDERS
            if p not in SPEAKS_ON_ITS_OWN
        ),
    ],
    indirect=["case"],
)
async def test_refills_keep_the_player_busy(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    options: SynthesisOptions,
    policy: FlushPolicy,
    silent: bool,
) -> None:
    """Speaking early must not mean a silence while the long sentence is written."""
    emulator.config.speed = 8.0
    emulator.config.first_audio_latency = 0.1
    client = make_client(case, http, emulator.base_url, flush_policy=policy)
    # 80 characters per second: faster than speech (~17), slower than the sentence.
    result = await collect(
        client.stream(TextFeed(LONG_SENTENCE, interval=0.05)(), options)
    )
    assert (gaps(result, options.audio_format) > 0.5) is silent
    if not silent:
        assert gaps(result, options.audio_format) < 0.05


async def test_a_pause_after_the_first_words_does_not_hold_them(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    """ "Okay," then a tool call that takes seconds: the first words are spoken meanwhile."""
    pause = 1.5

    async def agent() -> AsyncGenerator[str]:
        yield "Okay, "
        await asyncio.sleep(pause)
        yield "the lights are on."

    started = time.monotonic()
    result = await collect(client.stream(agent(), options))
    session = emulator.sessions[-1]
    assert session.text == "Okay, the lights are on."
    # Telnyx spells a flush without text as a space, spoken with the words before.
    segments = [segment.rstrip(" ") for segment in session.segments]
    assert segments == ["Okay,", " the lights are on."]
    assert result.times[0] - started < pause


# A quiet writer


async def test_slow_writer_is_not_a_stall(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    """No deadline runs while only the writer is slow."""

    async def slow() -> AsyncGenerator[str]:
        yield "First sentence. "
        await asyncio.sleep(FAST.chunk_gap * 1.5)
        yield "Second sentence."

    result = await collect(client.stream(slow(), options))
    assert emulator.sessions[-1].text == "First sentence. Second sentence."
    assert seconds_of(result.audio, options.audio_format) > 1.5


def test_keepalive_providers(case: ProviderCase) -> None:
    """The keep-alive cases run for exactly the providers whose protocol has one.

    (LMNT has no idle limit of its own: WebSocket pings keep it open.)
    """
    interval = PROVIDERS[case.provider].wire_protocol.keepalive_interval
    assert (interval is not None) is (case.provider in KEEPALIVE_PROVIDERS)


IDLE_LIMIT = 0.4


async def thinking() -> AsyncGenerator[str]:
    """A writer that thinks for longer than IDLE_LIMIT before each sentence."""
    for part in ("Hello there. ", "Still here."):
        await asyncio.sleep(0.9)
        yield part


@pytest.fixture
def idle_client(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> StreamingClient:
    """A client whose provider closes a connection quiet for IDLE_LIMIT seconds."""
    emulator.config.idle_timeout = IDLE_LIMIT
    # Telnyx clients set the idle limit themselves (inactivity_timeout in the URL).
    monkeypatch.setattr(telnyx, "INACTIVITY_TIMEOUT", IDLE_LIMIT)
    # The silence that ends the answer stays within the shortened idle limit.
    deadlines = dataclasses.replace(FAST, settle=0.2)
    return make_client(case, http, emulator.base_url, deadlines=deadlines)


@pytest.mark.parametrize("case", KEEPALIVE_PROVIDERS, indirect=True)
async def test_keepalive_outlasts_a_thinking_writer(
    idle_client: StreamingClient,
    options: SynthesisOptions,
    emulator: EmulatorServer[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A writer quiet for longer than the provider's idle limit still gets spoken."""
    monkeypatch.setattr(idle_client.wire_protocol, "keepalive_interval", 0.1)
    result = await collect(idle_client.stream(thinking(), options))
    assert result.audio
    session = emulator.sessions[-1]
    assert session.text == "Hello there. Still here."
    assert session.keepalives >= 4


@pytest.mark.parametrize("case", KEEPALIVE_PROVIDERS, indirect=True)
async def test_without_keepalives_the_idle_limit_ends_the_stream(
    idle_client: StreamingClient,
    options: SynthesisOptions,
    emulator: EmulatorServer[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same writer without keep-alives loses the connection: the limit is real."""
    monkeypatch.setattr(idle_client.wire_protocol, "keepalive_interval", None)
    with pytest.raises(SpeechConnectionError):
        await collect(idle_client.stream(thinking(), options))
    assert emulator.sessions[-1].keepalives == 0


# Ends that are not the end of the text


async def test_consumer_leaving_closes_everything(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    """A player that goes away ends the provider session and the text pump."""
    feed = TextFeed(ANSWER * 3, interval=0.01)
    stream = client.stream(feed(), options)
    async for _chunk in stream:
        break
    await stream.aclose()
    assert feed.closed
    await closed(emulator)
    assert emulator.sessions[-1].client_closed


async def test_cancellation_closes_everything(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    feed = TextFeed(ANSWER * 3, interval=0.05)
    first_chunk = asyncio.Event()

    async def consume() -> None:
        async for _chunk in client.stream(feed(), options):
            first_chunk.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_chunk.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert feed.closed
    await closed(emulator)


async def test_writer_failure_ends_the_stream(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    async def broken() -> AsyncGenerator[str]:
        yield "Hello there. "
        raise RuntimeError("the model failed")

    with pytest.raises(RuntimeError, match="the model failed"):
        await collect(client.stream(broken(), options))
    await closed(emulator)


@pytest.mark.parametrize("text", ["", "   ", "🙂", "🎉🎉", "```\ncode\n```"])
async def test_nothing_to_speak(
    client: StreamingClient,
    options: SynthesisOptions,
    emulator: EmulatorServer[Any],
    text: str,
) -> None:
    with pytest.raises(SpeechNoTextError):
        await collect(client.stream(one(text), options))
    await closed(emulator)


# The provider failing


async def test_provider_error_mid_stream(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    emulator.config.error_after_chunks = 2
    received: list[bytes] = []
    with pytest.raises(SpeechProviderError):
        async for chunk in client.stream(one(ANSWER), options):
            received.append(chunk)
    assert len(received) == 2
    await closed(emulator)


async def test_provider_stall_hits_the_deadline(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    emulator.config.stall_after_chunks = 1
    started = time.monotonic()
    with pytest.raises(SpeechTimeoutError):
        await collect(client.stream(one(ANSWER), options))
    assert time.monotonic() - started < FAST.chunk_gap + 1.0
    await closed(emulator)


async def test_dropped_connection(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    emulator.config.drop_after_chunks = 1
    with pytest.raises(SpeechConnectionError):
        await collect(client.stream(one(ANSWER), options))
    await closed(emulator)


async def test_wrong_key_at_synthesis(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    options: SynthesisOptions,
) -> None:
    client = make_client(case, http, emulator.base_url, api_key="wrong-key")
    feed = TextFeed(ANSWER)
    with pytest.raises(SpeechAuthError) as err:
        await collect(client.stream(feed(), options))
    assert "wrong-key" not in str(err.value)
    # Refused at the upgrade, the text was never read; refused later, it was
    # closed (see the LMNT tests, where the key travels in the first message).
    assert feed.started is None or feed.closed
    await closed(emulator)


async def test_unknown_voice(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    with pytest.raises(SpeechVoiceError):
        await collect(
            client.stream(one("Hello."), dataclasses.replace(options, voice="nobody"))
        )
    await closed(emulator)


@pytest.mark.parametrize("change", ["stereo", "unknown_language"])
def test_unsupported_options_fail_before_connecting(
    client: StreamingClient,
    options: SynthesisOptions,
    emulator: EmulatorServer[Any],
    change: str,
) -> None:
    if change == "stereo":
        audio = options.audio_format
        options = dataclasses.replace(
            options, audio_format=AudioFormat(audio.encoding, audio.sample_rate, 2)
        )
    else:
        options = dataclasses.replace(options, language="xx")
    with pytest.raises(SpeechRequestError):
        client.stream(one("Hello."), options)
    assert not emulator.sessions


# Connecting


async def test_slow_handshake_hits_the_connect_deadline(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    options: SynthesisOptions,
) -> None:
    emulator.config.handshake_delay = 1.0
    deadlines = Deadlines(connect=0.2, first_audio=1.0, chunk_gap=1.0)
    client = make_client(case, http, emulator.base_url, deadlines=deadlines)
    with pytest.raises(SpeechTimeoutError):
        await collect(client.stream(one("Hello."), options))


async def test_unreachable_stream(
    case: ProviderCase, http: aiohttp.ClientSession, options: SynthesisOptions
) -> None:
    client = make_client(case, http, UNREACHABLE)
    with pytest.raises(SpeechConnectionError):
        await collect(client.stream(one("Hello."), options))


# Smallest.ai streams over HTTP when the upgrade is refused (see test_providers.py).
@pytest.mark.parametrize("case", ["lmnt", "telnyx", "sarvam"], indirect=True)
async def test_refused_upgrade(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    options: SynthesisOptions,
) -> None:
    """An HTTP error instead of the WebSocket upgrade (here: a wrong API path)."""
    client = make_client(case, http, f"{emulator.base_url}/wrong")
    with pytest.raises(SpeechRequestError, match="HTTP 404"):
        await collect(client.stream(one("Hello."), options))


async def test_a_failed_init_still_closes_the_socket(
    client: StreamingClient,
    options: SynthesisOptions,
    emulator: EmulatorServer[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The socket opened, then building the first messages failed: it is closed."""

    def broken_open(self: object) -> list[Any]:
        raise SpeechRequestError(
            "cannot describe this session", provider=client.provider
        )

    monkeypatch.setattr(client.wire_protocol, "open", broken_open)
    with pytest.raises(SpeechRequestError, match="cannot describe"):
        await collect(client.stream(one("Hello."), options))
    assert emulator.requests[-1].websocket
    await closed(emulator)
    assert emulator.open_connections == 0


# The voice list (the key check)


async def test_voices_bad_key(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: EmulatorServer[Any]
) -> None:
    client = make_client(case, http, emulator.base_url, api_key="wrong-key")
    with pytest.raises(SpeechAuthError) as err:
        await client.list_voices()
    assert "wrong-key" not in str(err.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, SpeechProviderError), (429, SpeechRateLimitError), (402, SpeechQuotaError),
     (400, SpeechRequestError)],
)  # fmt: skip
async def test_voices_http_errors(
    client: StreamingClient,
    emulator: EmulatorServer[Any],
    status: int,
    error: type[Exception],
) -> None:
    emulator.config.rest_status_override = status
    with pytest.raises(error):
        await client.list_voices()


async def test_voices_unreachable(
    case: ProviderCase, http: aiohttp.ClientSession
) -> None:
    client = make_client(case, http, UNREACHABLE)
    with pytest.raises(SpeechConnectionError):
        await client.list_voices()


async def test_voice_list_timeout(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: EmulatorServer[Any]
) -> None:
    emulator.config.handshake_delay = 1.0
    client = make_client(
        case, http, emulator.base_url, deadlines=Deadlines(connect=0.2)
    )
    with pytest.raises(SpeechTimeoutError):
        await client.list_voices()
