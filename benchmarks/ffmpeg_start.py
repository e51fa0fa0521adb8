"""How soon Home Assistant's audio conversion starts, by what the engine hands it.

Before 2026.11, Home Assistant converts TTS audio with ffmpeg whenever the
caller asks for a format or a sample rate (every Assist satellite does), feeding
the engine's stream to ``ffmpeg -f <extension> -i pipe:0`` with no other input
options. One unbroken stream is fed, so this under-measures answers that arrive
fragment by fragment (docs/benchmarks.md explains).
This measures the time from the first input byte to the first output byte for
each input an engine could hand over, with speech arriving at 4x real time:

    python -m benchmarks.ffmpeg_start
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
import shutil
import time

from custom_components.streaming_tts.speech.audio import streaming_wav_header
from tests.emulators import synth

TEXT = "Hello there, this is how long a satellite waits for its first word. " * 3
CHUNK_SECONDS = 0.1
SPEED = 4.0
# What Home Assistant asks ffmpeg for: a satellite's WAV, a player's MP3.
OUTPUTS = {
    "WAV 16 kHz (satellite)": ("-f", "wav", "-ar", "16000", "-ac", "1",
                               "-sample_fmt", "s16"),
    "MP3 (player)": ("-f", "mp3", "-q:a", "0"),
}  # fmt: skip


def pieces(container: str, rate: int) -> list[bytes]:
    """Return the engine's stream, in CHUNK_SECONDS pieces."""
    pcm = synth.synthesize_pcm(TEXT, rate)
    step = int(rate * 2 * CHUNK_SECONDS)
    raw = [pcm[i : i + step] for i in range(0, len(pcm), step)]
    if container == "mp3":
        encoder = synth.Mp3StreamEncoder(rate, 128)
        encoded = [encoder.encode(piece) for piece in raw]
        encoded[-1] += encoder.flush()
        return encoded
    if container == "wav":
        raw[0] = streaming_wav_header(rate, 1) + raw[0]
    return raw


async def first_output(
    ffmpeg: str, container: str, rate: int, output: Sequence[str]
) -> float:
    """Seconds from the first input byte to the first output byte."""
    process = await asyncio.create_subprocess_exec(
        ffmpeg, "-hide_banner", "-loglevel", "error", "-f", container, "-i", "pipe:0",
        *output, "pipe:1",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdin, stdout = process.stdin, process.stdout
    if stdin is None or stdout is None:
        raise RuntimeError("no pipes to ffmpeg")

    async def feed() -> None:
        for piece in pieces(container, rate):
            stdin.write(piece)
            await stdin.drain()
            await asyncio.sleep(CHUNK_SECONDS / SPEED)
        stdin.close()

    async def drain() -> None:
        while await stdout.read(65536):
            pass

    feeding = asyncio.create_task(feed())
    started = time.monotonic()
    await stdout.read(1)
    elapsed = time.monotonic() - started
    await asyncio.gather(feeding, drain())
    await process.wait()
    return elapsed


async def main() -> None:
    """Print the table."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg is needed (scripts/setup installs it)")
    inputs = [("mp3", 24000, "MP3 24 kHz"), ("s16le", 44100, "bare PCM 44.1 kHz"),
              ("wav", 24000, "streaming WAV 24 kHz"), ("wav", 16000, "streaming WAV 16 kHz")]  # fmt: skip
    print(
        f"Speech at {SPEED:g}x real time, in {CHUNK_SECONDS:g} s pieces; median of 3.\n"
    )
    print(
        "| engine hands over | "
        + " | ".join(f"{o} first output ms" for o in OUTPUTS)
        + " |"
    )
    print("| --- |" + " --- |" * len(OUTPUTS))
    for container, rate, label in inputs:
        cells = []
        for output in OUTPUTS.values():
            runs = sorted(
                [await first_output(ffmpeg, container, rate, output) for _ in range(3)]
            )
            cells.append(f"{runs[1] * 1000:.0f}")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    asyncio.run(main())
