"""Helpers for driving streams in tests: LLM-like text, audio decoding."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
import json
import subprocess
import time

import aiohttp

from custom_components.streaming_tts.speech import (
    PROVIDERS,
    Deadlines,
    FlushPolicy,
    StreamingClient,
)
from custom_components.streaming_tts.speech.audio import (
    _BITRATES_V1,
    _BITRATES_V2,
    _SAMPLE_RATES,
)
from tests.conftest import API_KEY, ProviderCase
from tests.emulators.synth import (
    mp3_frame_length,
    mp3_frame_sample_rate,
    mp3_frame_samples,
)

ANSWER = (
    "Sure! The **living room** lights are on, and the thermostat is set to 21 degrees. "
    "Tomorrow will be sunny with a high of 24.5 degrees 🌞. "
    "Would you like me to close the blinds?"
)
# What a provider is sent of ANSWER: no markdown, no emoji, words single-spaced.
SPOKEN_ANSWER = (
    "Sure! The living room lights are on, and the thermostat is set to 21 degrees. "
    "Tomorrow will be sunny with a high of 24.5 degrees. "
    "Would you like me to close the blinds?"
)
WAV_HEADER_BYTES = 44


def words(text: str) -> list[str]:
    """Return the words of a text, in order (whitespace does not matter)."""
    return text.split()


@dataclass
class TextFeed:
    """An LLM-like text stream: fixed-size tokens at a steady pace, with timing."""

    text: str
    token_chars: int = 4
    interval: float = 0.01
    started: float | None = None
    ended: float | None = None
    closed: bool = False
    tokens: list[str] = field(default_factory=list)

    async def __call__(self) -> AsyncGenerator[str]:
        """Yield the text as tokens."""
        self.started = time.monotonic()
        try:
            for start in range(0, len(self.text), self.token_chars):
                token = self.text[start : start + self.token_chars]
                self.tokens.append(token)
                yield token
                await asyncio.sleep(self.interval)
            self.ended = time.monotonic()
        finally:
            self.closed = True


@dataclass
class Collected:
    """Audio gathered from a stream, with the arrival time of each chunk."""

    chunks: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    @property
    def audio(self) -> bytes:
        """All audio bytes, in order."""
        return b"".join(self.chunks)


async def collect(audio: AsyncIterable[bytes]) -> Collected:
    """Read a whole audio stream, timing each chunk."""
    result = Collected()
    async for chunk in audio:
        result.chunks.append(chunk)
        result.times.append(time.monotonic())
    return result


def decoded_seconds(audio: bytes, container: str = "mp3", rate: int = 24000) -> float:
    """Decode audio with ffmpeg (which must succeed) and return its duration."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", container, "-i", "pipe:0", "-f", "s16le",
         "-ac", "1", "-ar", str(rate), "pipe:1"],
        input=audio,
        capture_output=True,
        check=True,
        timeout=60,
    )  # fmt: skip
    assert not result.stderr, result.stderr.decode()
    return len(result.stdout) / 2 / rate


def audio_shape(audio: bytes, container: str) -> tuple[int, int]:
    """Return the (sample rate, channel count) ffprobe reads from ``audio``."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-f", container, "-i", "pipe:0",
         "-show_entries", "stream=sample_rate,channels", "-of", "json"],
        input=audio,
        capture_output=True,
        check=True,
        timeout=60,
    )  # fmt: skip
    (stream,) = json.loads(result.stdout)["streams"]
    return int(stream["sample_rate"]), int(stream["channels"])


def mp3_bitrates(audio: bytes) -> set[int]:
    """Return the bitrates (bit/s) of the MPEG layer III frames in ``audio``.

    Every byte after the ID3 tag must be a frame: a stray byte fails here,
    where the library's clock would skip it. The tables are the library's.
    """
    audio = audio[_id3_size(audio) :]
    found, pos = set(), 0
    while pos + 4 <= len(audio):
        header = audio[pos : pos + 4]
        assert header[0] == 0xFF, f"no frame at {pos}"
        assert header[1] & 0xE0 == 0xE0, f"no frame at {pos}"
        version = (header[1] >> 3) & 0x3
        kbps = (_BITRATES_V1 if version == 3 else _BITRATES_V2)[header[2] >> 4]
        rate = _SAMPLE_RATES[version][(header[2] >> 2) & 0x3]
        padding = (header[2] >> 1) & 0x1
        found.add(kbps * 1000)
        pos += (144 if version == 3 else 72) * kbps * 1000 // rate + padding
    return found


def _id3_size(audio: bytes) -> int:
    """Return the length of the ID3 tag that starts ``audio`` (0 without one)."""
    if audio[:3] != b"ID3":
        return 0
    size = 0
    for byte in audio[6:10]:  # 10 header bytes, then a syncsafe size
        size = size << 7 | byte
    return 10 + size


def _mp3_frames(audio: bytes) -> Iterator[tuple[int, float]]:
    """Yield (end offset, seconds) of each MPEG layer III frame in ``audio``."""
    pos = _id3_size(audio)
    while pos + 4 <= len(audio):
        header = audio[pos : pos + 4]
        length = mp3_frame_length(header)
        rate = mp3_frame_sample_rate(header)
        assert length is not None, f"no frame at {pos}"
        assert rate is not None, f"no frame at {pos}"
        pos += length
        yield pos, mp3_frame_samples(rate) / rate


def chunk_seconds(chunks: Sequence[bytes], container: str, rate: int) -> list[float]:
    """Return the seconds of audio each chunk of a stream completes.

    Counted without the library's own clock: WAV by samples after the header
    (mono, 16-bit, at ``rate``), MP3 frame by frame, a frame counting in the
    chunk it ends in.
    """
    ends = list(accumulate(len(chunk) for chunk in chunks))
    if container == "wav":
        until = [max(0, end - WAV_HEADER_BYTES) // 2 / rate for end in ends]
    else:
        frames = list(_mp3_frames(b"".join(chunks)))
        until = [sum(s for stop, s in frames if stop <= end) for end in ends]
    return [now - before for before, now in pairwise([0.0, *until])]


#: Short deadlines, so that a stalled provider fails a test quickly.
FAST = Deadlines(connect=2.0, first_audio=1.0, chunk_gap=1.0, close=1.0)


def make_client(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    base_url: str,
    *,
    api_key: str = API_KEY,
    deadlines: Deadlines = FAST,
    flush_policy: FlushPolicy | None = None,
) -> StreamingClient:
    """Return a client of the case's provider."""
    return PROVIDERS[case.provider](
        http, api_key, base_url=base_url, deadlines=deadlines, flush_policy=flush_policy
    )
