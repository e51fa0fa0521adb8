"""Every provider's client against every way its server may end an answer.

A server may answer once at the end, after every flush, per sentence, close
or stay open: whichever it does, every word is spoken once, in order, and
the stream ends within its deadlines.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from custom_components.streaming_tts.speech import Deadlines
from custom_components.streaming_tts.speech.text import clean_text
from tests.conftest import ProviderCase
from tests.emulators import EmulatorServer
from tests.emulators.synth import audio_seconds
from tests.emulators.variants import END_VARIANTS

from .helpers import ANSWER, TextFeed, collect, decoded_seconds
from .test_providers import make_client, one, options_for, words

pytestmark = pytest.mark.usefixtures("socket_enabled")

DEADLINES = Deadlines(connect=2.0, first_audio=2.0, chunk_gap=2.0, close=1.0)
SENTENCE = "This is sentence number {n} of the answer."
# (name, text, streamed): whole texts arrive at once, as from tts.speak.
TEXTS = [
    *(
        (
            f"{count}_sentences",
            " ".join(SENTENCE.format(n=n) for n in range(count)),
            False,
        )
        for count in (1, 2, 5, 30)
    ),
    ("no_final_punctuation", "Turning the lights off now, good night", False),
    ("streamed", ANSWER, True),
]
CASES = [
    pytest.param(provider, variant, id=f"{provider}-{variant}")
    for provider, variants in END_VARIANTS.items()
    for variant in variants
]


@pytest.mark.parametrize(("case", "variant"), CASES, indirect=["case"])
@pytest.mark.parametrize(
    ("name", "text", "streamed"), TEXTS, ids=[name for name, _, _ in TEXTS]
)
async def test_every_word_once_whatever_the_end(
    case: ProviderCase,
    variant: str,
    name: str,
    text: str,
    streamed: bool,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
) -> None:
    for key, value in END_VARIANTS[case.provider][variant].items():
        setattr(emulator.config, key, value)
    client = make_client(case, http, emulator, DEADLINES)
    options = options_for(client, case.voice)
    source = TextFeed(text, interval=0.005)() if streamed else one(text)
    started = time.monotonic()
    audio = await collect(client.stream(source, options))
    elapsed = time.monotonic() - started
    spoken = clean_text(text)
    session = emulator.sessions[-1]
    assert words(session.text) == words(spoken)
    assert "".join(session.segments).split() == spoken.split()  # none spoken twice
    format_ = options.audio_format
    seconds = decoded_seconds(audio.audio, format_.container, format_.sample_rate)
    assert seconds == pytest.approx(audio_seconds(spoken), abs=0.3), name
    # The end never waits for more than one silence after the last audio.
    assert audio.times[-1] - started < elapsed
    assert elapsed - (audio.times[-1] - started) <= DEADLINES.chunk_gap + 0.5
