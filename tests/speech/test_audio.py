"""Streaming WAV header and the audio clock."""

from __future__ import annotations

import io
import wave

import pytest

from custom_components.streaming_tts.speech.audio import (
    AudioClock,
    streaming_wav_header,
)
from custom_components.streaming_tts.speech.models import AudioEncoding, AudioFormat
from tests.emulators.synth import Mp3StreamEncoder, audio_seconds, synthesize_pcm

TEXT = "Hello there, general Kenobi."


def test_streaming_wav_header() -> None:
    header = streaming_wav_header(16000)
    assert len(header) == 44
    with wave.open(io.BytesIO(header + b"\0\0" * 160)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (
            16000,
            1,
            2,
        )


def test_pcm_is_counted_by_size() -> None:
    clock = AudioClock(AudioFormat(AudioEncoding.PCM_S16LE, 16000))
    assert clock.feed(b"\0" * 32000) == pytest.approx(1.0)
    assert clock.feed(b"\0" * 16000) == pytest.approx(0.5)
    assert clock.seconds == pytest.approx(1.5)


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 44100])
def test_mp3_is_counted_frame_by_frame(rate: int) -> None:
    encoder = Mp3StreamEncoder(rate)
    data = encoder.encode(synthesize_pcm(TEXT, rate)) + encoder.flush()
    clock = AudioClock(AudioFormat(AudioEncoding.MP3, rate))
    # Chunks that cut frames anywhere: a frame counts once it is complete.
    counted = [
        clock.feed(data[start : start + 97]) for start in range(0, len(data), 97)
    ]
    assert 0.0 in counted
    # Within one frame of the text's length (the encoder pads the last frame).
    assert audio_seconds(TEXT) <= clock.seconds <= audio_seconds(TEXT) + 1152 / rate


def test_mp3_clock_skips_what_is_not_a_frame() -> None:
    encoder = Mp3StreamEncoder(24000)
    data = encoder.encode(synthesize_pcm(TEXT, 24000)) + encoder.flush()
    clock = AudioClock(AudioFormat(AudioEncoding.MP3, 24000))
    clock.feed(b"ID3\x04\x00junk" + data)
    assert clock.seconds == pytest.approx(AudioClock._mp3(data)[0])
