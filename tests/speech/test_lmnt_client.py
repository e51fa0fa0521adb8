"""The LMNT client's own protocol against the LMNT emulator.

The lifecycle LMNT shares with every provider is in test_lifecycle.py; here:
the init message, flush nonces, error slugs, formats and the voice list.
"""

from __future__ import annotations

import aiohttp
import pytest

from custom_components.streaming_tts.speech import (
    SPEED,
    AudioEncoding,
    AudioFormat,
    Deadlines,
    LmntClient,
    Settings,
    SpeechAuthError,
    SpeechProviderError,
    SpeechQuotaError,
    SpeechRateLimitError,
    SpeechRequestError,
    SynthesisOptions,
)
from custom_components.streaming_tts.speech.events import FlushDone, Progress
from custom_components.streaming_tts.speech.lmnt import LmntProtocol
from tests.conftest import API_KEY
from tests.emulators import LmntEmulator

from .helpers import ANSWER, TextFeed, collect

# Real sockets on 127.0.0.1: the emulator.
pytestmark = pytest.mark.usefixtures("socket_enabled")

MP3 = AudioFormat(AudioEncoding.MP3, 24000)
OPTIONS = SynthesisOptions(voice="leah", audio_format=MP3, language="en")
FAST = Deadlines(connect=2.0, first_audio=1.0, chunk_gap=1.0, close=1.0)


@pytest.fixture
def client(http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator) -> LmntClient:
    """A client pointed at the emulator, with short deadlines."""
    return LmntClient(http, API_KEY, base_url=lmnt_emulator.base_url, deadlines=FAST)


async def test_voices(client: LmntClient) -> None:
    voices = await client.list_voices()
    assert voices
    assert [v.name.casefold() for v in voices] == sorted(
        v.name.casefold() for v in voices
    )
    assert "leah" in {v.voice_id for v in voices}


async def test_session_init_and_flush_nonces(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    """The typed protocol: settings in the init, flushes numbered in order."""
    await collect(client.stream(TextFeed(ANSWER, interval=0.005)(), OPTIONS))
    session = lmnt_emulator.sessions[-1]
    assert session.init["voice"] == "leah"
    assert session.init["format"] == "mp3"
    assert session.init["language"] == "en"
    assert session.init["lmnt-version"] == "1.2"
    assert len(session.flush_nonces) > 1
    assert session.flush_nonces == sorted(session.flush_nonces)


async def test_wrong_key_in_the_init(
    http: aiohttp.ClientSession, lmnt_emulator: LmntEmulator
) -> None:
    """The key travels in the first message: refused there, the text was being read."""
    client = LmntClient(
        http, "wrong-key", base_url=lmnt_emulator.base_url, deadlines=FAST
    )
    feed = TextFeed(ANSWER)
    with pytest.raises(SpeechAuthError) as err:
        await collect(client.stream(feed(), OPTIONS))
    assert "wrong-key" not in str(err.value)
    assert feed.closed
    await lmnt_emulator.wait_closed()


async def test_pcm_session_init(
    client: LmntClient, lmnt_emulator: LmntEmulator
) -> None:
    """PCM is asked for by name and rate; no language means the voice's own."""
    pcm = client.audio_format(AudioEncoding.PCM_S16LE, 16000)
    options = SynthesisOptions(voice="leah", audio_format=pcm)
    await collect(client.stream(TextFeed("Hello there, general Kenobi.")(), options))
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
            voice="leah", audio_format=MP3, settings=Settings({SPEED: 1.5})
        ),
    ],
    ids=["pcm_44100", "speed"],
)
def test_unsupported_options_fail_before_connecting(
    client: LmntClient, lmnt_emulator: LmntEmulator, options: SynthesisOptions
) -> None:
    """Beyond what no provider does (see test_lifecycle.py): LMNT's own limits."""
    with pytest.raises(SpeechRequestError):
        client.stream(TextFeed("Hello.")(), options)
    assert not lmnt_emulator.sessions


@pytest.mark.parametrize(
    ("slug", "error"),
    [("authentication_error", SpeechAuthError), ("payment_required_error", SpeechQuotaError),
     ("rate_limit_error", SpeechRateLimitError), ("internal_server_error", SpeechProviderError)],
)  # fmt: skip
async def test_rejections_map_to_errors(
    client: LmntClient, lmnt_emulator: LmntEmulator, slug: str, error: type[Exception]
) -> None:
    lmnt_emulator.config.reject_with = (slug, f"refused {API_KEY}")
    with pytest.raises(error) as err:
        await collect(client.stream(TextFeed("Hello.")(), OPTIONS))
    # Servers echo requests back; the key must not travel on in our errors.
    assert API_KEY not in str(err.value)


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
    # The key is removed where errors leave the client (test_rejections_map_to_errors).
    with pytest.raises(SpeechAuthError, match="LMNT: bad key"):
        protocol.on_text(
            {
                "type": "error",
                "error": {
                    "type": "authentication_error",
                    "message": f"bad key {API_KEY}",
                },
            }
        )
