"""Helpers for driving streams in tests: LLM-like text, audio decoding."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass, field
import subprocess
import time

ANSWER = (
    "Sure! The **living room** lights are on, and the thermostat is set to 21 degrees. "
    "Tomorrow will be sunny with a high of 24.5 degrees 🌞. "
    "Would you like me to close the blinds?"
)


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
