"""Home Assistant in the loop: the emulator, the entities, a player reading the proxy URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import sys
import tempfile
import time
from unittest.mock import patch

import aiohttp
from aiohttp.resolver import ThreadedResolver
from aiohttp.test_utils import TestServer
from homeassistant import loader
from homeassistant.components import tts
from homeassistant.components.tts.const import DATA_COMPONENT
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.streaming_tts.const import DOMAIN, SUBENTRY_VOICE
from custom_components.streaming_tts.speech import (
    AudioEncoding,
    AudioFormat,
    LmntClient,
    SynthesisOptions,
)
from custom_components.streaming_tts.speech.audio import AudioClock
from custom_components.streaming_tts.speech.models import SENTENCE_FLUSHES
from tests.conftest import CASES

from .metrics import Run
from .strategies import FullText, SentenceBatched, SentenceFlushes
from .trace import TokenFeed, first_word_token, tokens

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
OURS = CASES["lmnt"].engine
#: What an Assist satellite asks for (Wyoming and ESPHome alike).
SATELLITE: dict[str, str | int] = {
    "preferred_format": "wav",
    "preferred_sample_rate": 16000,
    "preferred_sample_channels": 1,
    "preferred_sample_bytes": 2,
}
ENGINES = {
    "streaming (this integration)": OURS,
    "streaming, sentence flushes only": "tts.sentence_flushes",
    "sentence-batched (core ElevenLabs/Cloud)": "tts.sentence_batched",
    "full text first": "tts.full_text",
}


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """How the emulated provider behaves."""

    handshake_delay: float = 0.1
    first_audio_latency: float = 0.15
    speed: float = 4.0


@contextlib.asynccontextmanager
async def emulator(settings: ProviderSettings, provider: str) -> AsyncIterator[str]:
    """Run a provider's emulator in its own process (its CPU is not ours); yield its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.emulators", provider, "--port", "0",
        "--api-key", API_KEY, "--speed", str(settings.speed),
        "--first-audio-latency", str(settings.first_audio_latency),
        "--handshake-delay", str(settings.handshake_delay),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        if process.stdout is None:
            raise RuntimeError("no pipe to the emulator")
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        if not line.startswith("READY "):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield line.split()[1]
    finally:
        process.terminate()
        await process.wait()


@dataclass
class Bench:
    """A running Home Assistant with the three engines and an HTTP server."""

    hass: HomeAssistant
    server: TestServer
    http: aiohttp.ClientSession
    settings: ProviderSettings

    async def run(
        self,
        strategy: str,
        rate: float,
        engine: str | None = None,
        options: dict[str, str | int] | None = None,
    ) -> Run:
        """Speak the answer through one engine (the strategy's, unless given)."""
        loop = asyncio.get_running_loop()
        stream = tts.async_create_stream(
            self.hass, engine or ENGINES[strategy], "en", options
        )
        clock = AudioClock(
            AudioFormat(AudioEncoding.PCM_S16LE, int(options["preferred_sample_rate"]))
            if options and options.get("preferred_format") == "wav"
            else AudioFormat(AudioEncoding.MP3, LmntClient.mp3_sample_rate)
        )
        chunks: list[tuple[float, int, float]] = []

        async def player() -> None:
            async with self.http.get(self.server.make_url(stream.url)) as response:
                response.raise_for_status()
                chunks.extend(
                    [
                        (loop.time(), len(data), clock.feed(data))
                        async for data in response.content.iter_any()
                    ]
                )

        reader = asyncio.create_task(player())
        # The player connects when the pipeline run starts, well before the text.
        await asyncio.sleep(0.05)
        parts = tokens()
        start = loop.time()
        feed = TokenFeed(parts, rate, start)
        stream.async_set_message_stream(feed())
        await reader
        # The provider speaks as soon as it is asked (a flush) once connected:
        # the earliest start is the later of the handshake and the first word.
        first_word = feed.times[first_word_token(parts)] - start
        ready = max(self.settings.handshake_delay, first_word)
        floor = ready + self.settings.first_audio_latency
        return Run(strategy, rate, start, floor, feed.times, chunks)

    async def loop_lag(self, strategy: str, streams: int, rate: float) -> list[float]:
        """Run ``streams`` answers at once; return how late a 10 ms timer fired."""
        lags: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(max(0.0, time.perf_counter() - before - 0.01))

        ticking = asyncio.create_task(ticker())
        try:
            await asyncio.gather(*(self.run(strategy, rate) for _ in range(streams)))
        finally:
            done.set()
            await ticking
        return lags


@contextlib.asynccontextmanager
async def home_assistant(
    settings: ProviderSettings, providers: list[str]
) -> AsyncIterator[Bench]:
    """Home Assistant with this integration and the baselines on the LMNT emulator.

    The other ``providers`` get an entry each, on their own emulators with the
    same settings.
    """
    # Home Assistant's shared session resolves .local names through zeroconf,
    # which would join multicast groups here; the emulator is an IP literal.
    resolver = patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver",
        return_value=ThreadedResolver(),
    )
    async with contextlib.AsyncExitStack() as stack:
        urls = {
            provider: await stack.enter_async_context(emulator(settings, provider))
            for provider in dict.fromkeys(["lmnt", *providers])
        }
        base_url = urls["lmnt"]
        hass = await stack.enter_async_context(
            async_test_home_assistant(config_dir=tempfile.mkdtemp())
        )
        with resolver:
            # Let Home Assistant find this repository's custom_components package.
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
            for provider, url in urls.items():
                case = CASES[provider]
                entry = MockConfigEntry(
                    domain=DOMAIN,
                    title=case.title,
                    version=2,
                    data={"provider": provider, "api_key": API_KEY, "base_url": url},
                    subentries_data=[
                        ConfigSubentryData(
                            subentry_type=SUBENTRY_VOICE,
                            title=case.profile_title,
                            data={"voice": case.voice, "language": case.language},
                            unique_id=None,
                        )
                    ],
                )
                entry.add_to_hass(hass)
                if not await hass.config_entries.async_setup(entry.entry_id):
                    raise RuntimeError(f"the {case.title} entry did not set up")
            client = LmntClient(
                async_get_clientsession(hass), API_KEY, base_url=base_url
            )
            options = SynthesisOptions(
                voice="leah",
                language="en",
                audio_format=client.audio_format(AudioEncoding.MP3),
            )
            natural = LmntClient(
                async_get_clientsession(hass),
                API_KEY,
                base_url=base_url,
                flush_policy=SENTENCE_FLUSHES,
            )
            await hass.data[DATA_COMPONENT].async_add_entities(
                [
                    SentenceFlushes("Sentence flushes", natural, options),
                    SentenceBatched("Sentence batched", client, options),
                    FullText("Full text", client, options),
                ]
            )
            await hass.async_block_till_done()
            server = TestServer(hass.http.app, host="127.0.0.1")
            await server.start_server()
            try:
                async with aiohttp.ClientSession() as http:
                    yield Bench(hass, server, http, settings)
            finally:
                await server.close()


def rss_bytes() -> int:
    """Return this process's resident memory, in bytes."""
    with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
