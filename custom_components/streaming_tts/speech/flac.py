"""A streaming FLAC writer for 16-bit mono PCM, with a resampler in front.

Satellites such as ESPHome's Voice PE ask for FLAC. Starting an ffmpeg to
encode it costs more time than the first words take to synthesise, so the
stream is written here: verbatim subframes (the samples as they are, which
every FLAC decoder reads), in short fixed-size blocks so the first bytes go
out after a few milliseconds of audio. Lossless, not compressed: on a local
network the size does not matter, the start does.
"""

from __future__ import annotations

from array import array
import sys
from typing import Final

BLOCK_SAMPLES: Final = 1152
_BLOCK_SIZE_CODE: Final = 0b0011  # 1152 samples
_LAST_BLOCK_CODE: Final = 0b0111  # size in 16 bits after the header
_RATE_CODES: Final = {
    8000: 0b0100, 16000: 0b0101, 22050: 0b0110, 24000: 0b0111,
    32000: 0b1000, 44100: 0b1001, 48000: 0b1010, 96000: 0b1011,
}  # fmt: skip
#: The rates a FLAC frame header can name by itself.
FLAC_SAMPLE_RATES: Final = frozenset(_RATE_CODES)
_MONO: Final = 0b0000
_SIXTEEN_BITS: Final = 0b100
_VERBATIM: Final = 0b00000010


def _crc8_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return table


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = (
                ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
            )
        table.append(crc)
    return table


_CRC8: Final = _crc8_table()
_CRC16: Final = _crc16_table()


def crc8(data: bytes) -> int:
    """CRC-8 of a FLAC frame header (polynomial x^8 + x^2 + x + 1)."""
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def crc16(data: bytes) -> int:
    """CRC-16 of a FLAC frame (polynomial x^16 + x^15 + x^2 + 1)."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _utf8_number(number: int) -> bytes:
    """Return a frame number in FLAC's UTF-8-like coding."""
    if number < 0x80:
        return bytes([number])
    out = []
    limit = 0x40
    while number >= limit:
        out.append(0x80 | (number & 0x3F))
        number >>= 6
        limit >>= 1
    count = len(out) + 1
    first = ((0xFF << (8 - count)) & 0xFF) | number
    return bytes([first, *reversed(out)])


class FlacStreamWriter:
    """Turn 16-bit little-endian mono PCM into a FLAC stream, block by block."""

    def __init__(self, sample_rate: int) -> None:
        """Write FLAC at ``sample_rate`` (one of the rates a frame header can name)."""
        if sample_rate not in _RATE_CODES:
            raise ValueError(f"no FLAC frame header names {sample_rate} Hz")
        self.sample_rate = sample_rate
        self._pending = array("h")
        self._odd = b""
        self._frame = 0

    def header(self) -> bytes:
        """Return the stream marker and STREAMINFO (length and checksum unknown)."""
        info = (
            BLOCK_SAMPLES.to_bytes(2, "big") * 2  # minimum and maximum block size
            + bytes(6)  # frame sizes unknown
            + (
                (self.sample_rate << 44) | (0 << 41) | (15 << 36)  # mono, 16 bits
            ).to_bytes(8, "big")  # total samples (low 36 bits) unknown
            + bytes(16)  # no MD5
        )
        return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info

    def write(self, pcm: bytes) -> bytes:
        """Add samples; return the whole blocks they complete."""
        data = self._odd + pcm
        cut = len(data) - len(data) % 2
        self._pending.frombytes(data[:cut])
        self._odd = data[cut:]
        out = []
        while len(self._pending) >= BLOCK_SAMPLES:
            out.append(self._block(self._pending[:BLOCK_SAMPLES]))
            del self._pending[:BLOCK_SAMPLES]
        return b"".join(out)

    def finish(self) -> bytes:
        """Return the last, shorter block."""
        if not self._pending:
            return b""
        block, self._pending = self._pending, array("h")
        return self._block(block)

    def _block(self, samples: array[int]) -> bytes:
        size_code = (
            _BLOCK_SIZE_CODE if len(samples) == BLOCK_SAMPLES else _LAST_BLOCK_CODE
        )
        header = bytearray(b"\xff\xf8")
        header.append(size_code << 4 | _RATE_CODES[self.sample_rate])
        header.append(_MONO << 4 | _SIXTEEN_BITS << 1)
        header += _utf8_number(self._frame)
        if size_code == _LAST_BLOCK_CODE:
            header += (len(samples) - 1).to_bytes(2, "big")
        header.append(crc8(bytes(header)))
        self._frame += 1
        big_endian = array("h", samples)
        if sys.byteorder == "little":
            big_endian.byteswap()
        frame = bytes(header) + bytes([_VERBATIM]) + big_endian.tobytes()
        return frame + crc16(frame).to_bytes(2, "big")


class Resampler:
    """Linear-interpolation resampling of 16-bit mono PCM, across chunks.

    Speech from 16 to 24 kHz brought up to 48 kHz: interpolating adds nothing
    above the source's own band, which is all it needs to do here. Positions
    are counted in whole samples, so the output does not depend on how the
    input was cut into chunks.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        """Resample from ``from_rate`` to ``to_rate``."""
        self._from = from_rate
        self._to = to_rate
        self._produced = 0  # output samples so far
        self._start = 0  # input index of the first sample kept in _kept
        self._kept = array("h")  # the last input sample, for the next chunk
        self._odd = b""

    def feed(self, pcm: bytes) -> bytes:
        """Return the resampled audio of ``pcm`` (a sample may wait for the next)."""
        data = self._odd + pcm
        cut = len(data) - len(data) % 2
        self._odd = data[cut:]
        if self._from == self._to:
            return data[:cut]
        samples = array("h", self._kept)
        samples.frombytes(data[:cut])
        out = array("h")
        last = self._start + len(samples) - 1  # input index of the last sample
        while True:
            numerator = self._produced * self._from
            index, remainder = divmod(numerator, self._to)
            if index >= last:
                break
            left = samples[index - self._start]
            right = samples[index - self._start + 1]
            out.append(left + (right - left) * remainder // self._to)
            self._produced += 1
        if samples:
            self._kept = samples[-1:]
            self._start = last
        return out.tobytes()
