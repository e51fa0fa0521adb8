"""Deterministic stand-in speech and audio encoding shared by the provider emulators.

Every emulator turns text into audio the same way: each character lasts
`SECONDS_PER_CHAR`, so the length of the audio is a pure function of the text
and tests can predict it exactly.
"""

from __future__ import annotations

import array
import asyncio
from collections.abc import Sequence
import functools
import math
import re
import struct
import sys
from typing import Final

import lameenc

SECONDS_PER_CHAR: float = 0.06

_AMPLITUDE: Final = 9000.0
# Raised-cosine ramps at both ends of every tone so concatenated tones never click.
_RAMP_SECONDS: Final = 0.008
_BASE_PITCH_HZ: Final = 110.0
_PITCH_STEP_HZ: Final = 7.0
_PITCH_STEPS: Final = 37
# Harmonic weights of a buzzy, voice-like tone (fundamental first).
_HARMONICS: Final[tuple[float, ...]] = (1.0, 0.55, 0.3, 0.15)


def audio_seconds(text: str) -> float:
    """Return how many seconds of audio the emulators synthesise for `text`."""
    return len(text) * SECONDS_PER_CHAR


def sample_count(text: str, sample_rate: int) -> int:
    """Return the exact number of samples `synthesize_pcm` produces for `text`."""
    return round(len(text) * SECONDS_PER_CHAR * sample_rate)


def _pitch_index(char: str) -> int | None:
    """Return which of the `_PITCH_STEPS` tones `char` gets; None for silence."""
    if not char.isalnum():
        return None
    return ord(char.lower()) % _PITCH_STEPS


_WAVETABLE_SIZE: Final = 4096


def _make_wavetable() -> list[float]:
    """One period of the voice-like tone, peak-normalised to `_AMPLITUDE`."""
    raw = [
        sum(
            weight * math.sin(2.0 * math.pi * (n + 1) * i / _WAVETABLE_SIZE)
            for n, weight in enumerate(_HARMONICS)
        )
        for i in range(_WAVETABLE_SIZE)
    ]
    peak = max(abs(v) for v in raw)
    return [_AMPLITUDE * v / peak for v in raw]


_WAVETABLE: Final = _make_wavetable()
_tone_cache: dict[tuple[int | None, int, int], bytes] = {}


def _tone(char: str, length: int, sample_rate: int) -> bytes:
    """Return (cached) PCM16 LE for one character of `length` samples."""
    key = (_pitch_index(char), length, sample_rate)
    cached = _tone_cache.get(key)
    if cached is not None:
        return cached
    if key[0] is None:
        data = bytes(2 * length)
    else:
        freq = _BASE_PITCH_HZ + key[0] * _PITCH_STEP_HZ
        step = freq * _WAVETABLE_SIZE / sample_rate
        mask = _WAVETABLE_SIZE - 1
        table = _WAVETABLE
        values = [table[int(i * step) & mask] for i in range(length)]
        ramp = max(1, min(length // 3, round(_RAMP_SECONDS * sample_rate)))
        for i in range(ramp):
            gain = 0.5 - 0.5 * math.cos(math.pi * i / ramp)
            values[i] *= gain
            values[length - 1 - i] *= gain
        samples = array.array("h", [round(v) for v in values])
        if sys.byteorder == "big":
            samples.byteswap()
        data = samples.tobytes()
    _tone_cache[key] = data
    return data


def synthesize_pcm(text: str, sample_rate: int) -> bytes:
    """Return deterministic speech-like mono PCM16 LE audio for `text`.

    Letters and digits are short tones whose pitch depends on the character;
    everything else is silence. The result holds exactly
    `sample_count(text, sample_rate)` samples.
    """
    per_char = SECONDS_PER_CHAR * sample_rate
    pieces: list[bytes] = []
    start = 0
    for index, char in enumerate(text):
        end = round((index + 1) * per_char)
        pieces.append(_tone(char, end - start, sample_rate))
        start = end
    return b"".join(pieces)


def pcm16_to_f32le(pcm: bytes) -> bytes:
    """Convert mono PCM16 LE to 32-bit float LE in [-1.0, 1.0)."""
    samples = array.array("h", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    scale = 1.0 / 32768.0
    floats = array.array("f", [s * scale for s in samples])
    if sys.byteorder == "big":
        floats.byteswap()
    return floats.tobytes()


def _ulaw_byte(sample: int) -> int:
    """G.711 µ-law encode one signed 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, clip) + bias
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


@functools.cache
def _ulaw_table() -> bytes:
    """µ-law bytes indexed by the unsigned 16-bit pattern of a sample."""
    return bytes(
        _ulaw_byte(value - 0x10000 if value >= 0x8000 else value)
        for value in range(0x10000)
    )


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    """Convert mono PCM16 LE to 8-bit G.711 µ-law."""
    samples = array.array("H", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    table = _ulaw_table()
    return bytes([table[s] for s in samples])


WAVE_FORMAT_PCM: Final = 1
WAVE_FORMAT_IEEE_FLOAT: Final = 3
WAVE_FORMAT_MULAW: Final = 7
_STREAMING_SIZE: Final = 0xFFFFFFFF


def wav_header(
    sample_rate: int,
    *,
    bits_per_sample: int = 16,
    format_tag: int = WAVE_FORMAT_PCM,
    channels: int = 1,
) -> bytes:
    """Return a WAV header for a stream of unknown length.

    The RIFF and data sizes are 0xFFFFFFFF, which players and ffmpeg read as
    "until the end of the stream".
    """
    block_align = channels * bits_per_sample // 8
    fmt = struct.pack(
        "<HHIIHH",
        format_tag,
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        bits_per_sample,
    )
    if format_tag != WAVE_FORMAT_PCM:
        fmt += struct.pack("<H", 0)  # cbSize: non-PCM fmt chunks carry it
    return (
        b"RIFF"
        + struct.pack("<I", _STREAMING_SIZE)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", _STREAMING_SIZE)
    )


_MP3_BITRATES_KBPS: Final[dict[int, tuple[int, ...]]] = {
    # MPEG-1 layer III
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    # MPEG-2 and MPEG-2.5 layer III
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    0: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_SAMPLE_RATES: Final[dict[int, tuple[int, int, int]]] = {
    3: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    0: (11025, 12000, 8000),
}


def mp3_frame_length(header: bytes) -> int | None:
    """Return the byte length of the layer III frame whose header starts `header`.

    None when the four bytes are not a valid layer III frame header.
    """
    if len(header) < 4:
        return None
    word = int.from_bytes(header[:4], "big")
    version = (word >> 19) & 0x3
    layer = (word >> 17) & 0x3
    bitrate_index = (word >> 12) & 0xF
    rate_index = (word >> 10) & 0x3
    if (
        word >> 21 != 0x7FF
        or version == 1
        or layer != 1
        or bitrate_index in (0, 15)
        or rate_index == 3
    ):
        return None
    bitrate = _MP3_BITRATES_KBPS[version][bitrate_index] * 1000
    rate = _MP3_SAMPLE_RATES[version][rate_index]
    padding = (word >> 9) & 0x1
    coefficient = 144 if version == 3 else 72
    return coefficient * bitrate // rate + padding


def mp3_frame_sample_rate(header: bytes) -> int | None:
    """Return the sample rate of the layer III frame whose header starts `header`."""
    if mp3_frame_length(header) is None:
        return None
    word = int.from_bytes(header[:4], "big")
    return _MP3_SAMPLE_RATES[(word >> 19) & 0x3][(word >> 10) & 0x3]


def mp3_frame_samples(sample_rate: int) -> int:
    """Return the samples per layer III frame at `sample_rate`."""
    return 1152 if sample_rate >= 32000 else 576


def split_mp3_frames(data: bytes) -> tuple[bytes, bytes]:
    """Split `data` into its leading whole frames and the incomplete rest."""
    pos = 0
    while pos + 4 <= len(data):
        length = mp3_frame_length(data[pos : pos + 4])
        if length is None:
            raise ValueError(f"no MP3 frame header at byte {pos}")
        if pos + length > len(data):
            break
        pos += length
    return data[:pos], data[pos:]


class Mp3StreamEncoder:
    """Mono MP3 encoder that only ever returns whole frames.

    LAME delays its output by 1105 samples and pads the end of the stream to a
    whole frame, and without a LAME tag decoders keep both. Each segment
    therefore drops its first two MPEG-2 frames' worth of input (1152 samples),
    which keeps the decoded segment aligned with the input timeline and
    between 0 and one frame longer than the input.
    """

    LEADING_TRIM_SAMPLES: Final = 1152

    def __init__(self, sample_rate: int, kbps: int = 96) -> None:
        """Prepare an encoder for `sample_rate` Hz mono at `kbps`."""
        self.sample_rate = sample_rate
        self.kbps = kbps
        self._encoder = self._new_encoder()
        self._pending = b""
        self._trim_bytes = 2 * self.LEADING_TRIM_SAMPLES

    def _new_encoder(self) -> lameenc.Encoder:
        encoder = lameenc.Encoder()
        encoder.set_in_sample_rate(self.sample_rate)
        encoder.set_out_sample_rate(self.sample_rate)
        encoder.set_channels(1)
        encoder.set_bit_rate(self.kbps)
        encoder.set_quality(7)  # fast; the content is synthetic anyway
        encoder.silence()
        return encoder

    def encode(self, pcm: bytes) -> bytes:
        """Feed mono PCM16 LE; return the whole frames that are ready (maybe b"")."""
        if self._trim_bytes:
            dropped = min(self._trim_bytes, len(pcm))
            self._trim_bytes -= dropped
            pcm = pcm[dropped:]
        if not pcm:
            return b""
        frames, self._pending = split_mp3_frames(
            self._pending + bytes(self._encoder.encode(pcm))
        )
        return frames

    def flush(self) -> bytes:
        """End the current segment and return its remaining frames.

        The next `encode` starts a fresh segment.
        """
        frames, rest = split_mp3_frames(self._pending + bytes(self._encoder.flush()))
        if rest:
            raise ValueError("encoder left an incomplete MP3 frame")
        self._encoder = self._new_encoder()
        self._pending = b""
        self._trim_bytes = 2 * self.LEADING_TRIM_SAMPLES
        return frames


def chunk_pcm(pcm: bytes, sample_rate: int, chunk_seconds: float) -> list[bytes]:
    """Split mono PCM16 LE into chunks of `chunk_seconds` (the last may be shorter)."""
    step = 2 * max(1, round(chunk_seconds * sample_rate))
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


class Pacer:
    """Release audio at `speed` times real time (0 or None: as fast as possible).

    Call `wait` before sending each piece of audio. The first piece is due at
    once; each later one once it could have been generated at `speed` times
    real time, so N seconds of audio leave over (N - first piece) / speed.
    """

    def __init__(self, speed: float | None) -> None:
        """Start a pacer; nothing is counted until the first `wait`."""
        self.speed = speed
        self._start: float | None = None
        self._released = 0.0

    def restart(self) -> None:
        """Forget what was released, e.g. when a new segment starts."""
        self._start = None
        self._released = 0.0

    async def wait(self, seconds: float) -> None:
        """Sleep until the next `seconds` of audio may be released."""
        if not self.speed:
            return
        loop = asyncio.get_running_loop()
        if self._start is None:
            # The first piece leaves at once: the provider's first-audio
            # latency (waited before) already covers producing it.
            self._start = loop.time() - seconds / self.speed
        self._released += seconds
        due = self._start + self._released / self.speed
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)


def words_with_offsets(text: str) -> Sequence[tuple[str, int]]:
    """Return the whitespace-separated words of `text` with their start indexes."""
    words: list[tuple[str, int]] = []
    start: int | None = None
    for index, char in enumerate(text):
        if char.isspace():
            if start is not None:
                words.append((text[start:index], start))
                start = None
        elif start is None:
            start = index
    if start is not None:
        words.append((text[start:], start))
    return words


_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    """Split text after each sentence end, every character kept in one piece."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return [piece for piece in pieces if piece]
