"""Audio container helpers."""

from __future__ import annotations

import struct

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
