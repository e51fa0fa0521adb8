"""Audio container helpers."""

from __future__ import annotations

import struct

from .models import AudioEncoding, AudioFormat

# A data size nobody can know while streaming. 0xFFFFFFFF is what ffmpeg, Wyoming
# and Home Assistant's own streaming fast path (2026.x) recognise as "until EOF".
STREAMING_DATA_SIZE = 0xFFFFFFFF


def streaming_wav_header(
    sample_rate: int, channels: int = 1, sample_width: int = 2
) -> bytes:
    """Return a 44-byte PCM WAV header for a stream whose length is not known yet."""
    byte_rate = sample_rate * channels * sample_width
    return b"".join(
        (
            b"RIFF",
            struct.pack("<I", STREAMING_DATA_SIZE),
            b"WAVEfmt ",
            struct.pack(
                "<IHHIIHH",
                16,  # size of the fmt chunk
                1,  # PCM
                channels,
                sample_rate,
                byte_rate,
                channels * sample_width,
                sample_width * 8,
            ),
            b"data",
            struct.pack("<I", STREAMING_DATA_SIZE),
        )
    )


# MPEG audio layer III: bitrates (kbit/s) by version and index, and sample rates.
_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {
    3: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    0: (11025, 12000, 8000),
}


def _mp3_frame(header: bytes) -> tuple[int, float] | None:
    """Return (length in bytes, seconds) of the MP3 frame starting with ``header``."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 0x3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    layer = (header[1] >> 1) & 0x3  # 1: layer III
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0x3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    padding = (header[2] >> 1) & 0x1
    rate = _SAMPLE_RATES[version][rate_index]
    if version == 3:
        bitrate = _BITRATES_V1[bitrate_index] * 1000
        return 144 * bitrate // rate + padding, 1152 / rate
    bitrate = _BITRATES_V2[bitrate_index] * 1000
    return 72 * bitrate // rate + padding, 576 / rate


class AudioClock:
    """Count the seconds of audio in a stream as its bytes arrive.

    Raw PCM is counted by size; MP3 frame by frame (a frame split across two
    chunks counts when it is complete). Bytes that are not MP3 frames (an ID3
    tag, junk) are skipped.
    """

    def __init__(self, audio_format: AudioFormat) -> None:
        """Count audio of ``audio_format``."""
        self._format = audio_format
        self._rest = b""
        self.seconds = 0.0

    def feed(self, data: bytes) -> float:
        """Add a chunk; return the seconds it completed."""
        if self._format.encoding is not AudioEncoding.MP3:
            added = len(data) / (2 * self._format.channels * self._format.sample_rate)
        else:
            added, self._rest = self._mp3(self._rest + data)
        self.seconds += added
        return added

    @staticmethod
    def _mp3(buffer: bytes) -> tuple[float, bytes]:
        seconds, pos = 0.0, 0
        while pos + 4 <= len(buffer):
            frame = _mp3_frame(buffer[pos : pos + 4])
            if frame is None:
                pos += 1  # resynchronise on the next frame header
                continue
            length, duration = frame
            if pos + length > len(buffer):
                break
            seconds += duration
            pos += length
        return seconds, buffer[pos:]


def strip_wav_header(data: bytes) -> bytes:
    """Return ``data`` without a leading RIFF/WAVE header, if it has one.

    Some providers put a header in front of each PCM chunk; the stream we
    deliver has exactly one, so theirs must go. The header ends where the
    ``data`` sub-chunk begins.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        offset += 8
        if chunk_id == b"data":
            return data[offset:]
        offset += size + (size & 1)
    return b""
