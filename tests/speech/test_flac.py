"""The FLAC writer and the resampler, checked by ffmpeg's own FLAC decoder."""

from __future__ import annotations

from array import array
import math
import subprocess

import pytest

from custom_components.streaming_tts.speech.flac import (
    BLOCK_SAMPLES,
    FlacStreamWriter,
    Resampler,
)
from tests.speech.helpers import audio_shape


def tone(rate: int, seconds: float) -> bytes:
    samples = array(
        "h",
        (
            int(8000 * math.sin(2 * math.pi * 440 * i / rate))
            for i in range(int(rate * seconds))
        ),
    )
    return samples.tobytes()


def decode(flac: bytes) -> bytes:
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "flac", "-i", "pipe:0", "-f", "s16le", "pipe:1"],
        input=flac, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    assert not result.stderr, result.stderr.decode()  # CRC errors are reported here
    return result.stdout


def write(pcm: bytes, rate: int, piece: int) -> bytes:
    writer = FlacStreamWriter(rate)
    out = [writer.header()]
    out += [writer.write(pcm[i : i + piece]) for i in range(0, len(pcm), piece)]
    out.append(writer.finish())
    return b"".join(out)


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100, 48000])
def test_lossless_at_every_rate(rate: int) -> None:
    # Over 5 s at 48 kHz: frame numbers past 127 take two bytes.
    pcm = tone(rate, 5.3)
    flac = write(pcm, rate, 999)
    assert audio_shape(flac, "flac") == (rate, 1)
    assert decode(flac) == pcm


def test_blocks_go_out_as_soon_as_they_are_whole() -> None:
    writer = FlacStreamWriter(48000)
    assert writer.header().startswith(b"fLaC")
    assert writer.write(bytes(2 * (BLOCK_SAMPLES - 1))) == b""
    first = writer.write(bytes(4))  # completes the block, one sample left over
    assert first.startswith(b"\xff\xf8")
    assert len(first) == 2 + 2 + 1 + 1 + 1 + 2 * BLOCK_SAMPLES + 2
    assert writer.finish().startswith(b"\xff\xf8")
    assert writer.finish() == b""


def test_unnamed_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="11025"):
        FlacStreamWriter(11025)


@pytest.mark.parametrize(
    ("source", "target"), [(24000, 48000), (44100, 48000), (16000, 16000)]
)
def test_resampling_keeps_the_length_whatever_the_chunks(
    source: int, target: int
) -> None:
    pcm = tone(source, 2.0)
    whole = Resampler(source, target).feed(pcm)
    resampler = Resampler(source, target)
    pieces = b"".join(resampler.feed(pcm[i : i + 333]) for i in range(0, len(pcm), 333))
    assert pieces == whole  # odd-sized chunks split samples; nothing shifts
    assert len(whole) / 2 / target == pytest.approx(2.0, abs=2 / source)
    if source == target:
        assert whole == pcm
    else:  # still the same tone: interpolated values lie between their neighbours
        out = array("h")
        out.frombytes(whole)
        assert max(out) <= 8000
        assert min(out) >= -8000
