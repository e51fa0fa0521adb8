"""What audio to hand Home Assistant, given the format a request asks for.

Media players ask for nothing and get MP3 as the provider makes it. Voice
satellites ask for a container, a rate, a channel count and a sample size
(``preferred_*`` options); whatever the engine returns that differs is
converted by Home Assistant's ffmpeg, and how soon that ffmpeg starts
depends on what it is fed (see compat.TRUSTS_ENGINE_FORMAT):

- From 2026.11, audio returned exactly as asked is not converted at all. So:
  WAV at the asked rate when the provider has that rate, and FLAC written by
  the entity itself (speech.flac: starting an ffmpeg alone takes longer than
  the first words), resampled where the provider lacks the rate. Every other
  container is converted from a streaming WAV, which Home Assistant unwraps to
  raw PCM with a 32-byte probe, so ffmpeg starts at once.
- Before, any hint starts ffmpeg with its default probe, which waits for a
  fixed amount of input: at MP3's bitrate that is seconds of speech, which in
  an answer arrive sentence by sentence. Bare 16-bit PCM (which ffmpeg takes
  as 44.1 kHz mono) fills it fastest, so a provider with that rate sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
import contextlib
from dataclasses import dataclass
from typing import Any, Final

from .speech import AudioEncoding, AudioFormat, StreamingClient
from .speech.flac import FLAC_SAMPLE_RATES

DEFAULT_CONTAINER: Final = "mp3"
# What ffmpeg assumes of bare s16le input when told nothing else: Home
# Assistant's converter passes no input rate or channel count.
FFMPEG_RAW_RATE: Final = 44100


def _number(value: object) -> int | None:
    """Return a hint as an int; a hint that is not a number is no hint."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    with contextlib.suppress(ValueError):
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class FormatHints:
    """The format a request asks Home Assistant to deliver."""

    container: str = DEFAULT_CONTAINER
    sample_rate: int | None = None
    channels: int | None = None
    sample_bytes: int | None = None
    bitrate: int | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> FormatHints:
        """Read the ``preferred_*`` options of a request."""
        return cls(
            container=str(options.get("preferred_format") or DEFAULT_CONTAINER),
            sample_rate=_number(options.get("preferred_sample_rate")),
            channels=_number(options.get("preferred_sample_channels")),
            sample_bytes=_number(options.get("preferred_sample_bytes")),
            bitrate=_number(options.get("preferred_bitrate")),
        )

    @property
    def shaped(self) -> bool:
        """Return whether anything beyond the container is asked for."""
        return any(
            value is not None
            for value in (self.sample_rate, self.channels, self.sample_bytes)
        ) or (self.bitrate is not None and self.container == "mp3")


@dataclass(frozen=True, slots=True)
class _Offer:
    """What one provider voice can stream."""

    client: type[StreamingClient]
    voice: str

    @property
    def has_pcm(self) -> bool:
        return AudioEncoding.PCM_S16LE in self.client.voice_encodings(self.voice)

    @property
    def has_mp3(self) -> bool:
        return AudioEncoding.MP3 in self.client.voice_encodings(self.voice)

    @property
    def mp3(self) -> AudioFormat:
        return self.client.audio_format(AudioEncoding.MP3, voice=self.voice)

    def pcm(self, rate: int | None) -> AudioFormat:
        """Streaming WAV at ``rate``, or the nearest rate on offer."""
        return self.client.audio_format(AudioEncoding.PCM_S16LE, rate, voice=self.voice)

    def exact_pcm(self, rate: int) -> AudioFormat | None:
        """Streaming WAV at exactly ``rate``, if the voice has it."""
        audio = self.pcm(rate)
        return audio if self.has_pcm and audio.sample_rate == rate else None

    @property
    def converted_soonest(self) -> AudioFormat:
        """What a converter with ffmpeg's full probe starts on soonest.

        Bare samples (which ffmpeg reads as 44.1 kHz mono) fill the probe
        fastest; MP3 next; a streaming WAV last.
        """
        if self.exact_pcm(FFMPEG_RAW_RATE) is not None:
            return AudioFormat(AudioEncoding.PCM_S16LE, FFMPEG_RAW_RATE, raw=True)
        return self.mp3 if self.has_mp3 else self.pcm(None)


def flac_rate(
    client: type[StreamingClient],
    voice: str,
    hints: FormatHints,
    sample_rate: int | None,
    *,
    trusted: bool,
) -> int | None:
    """Return the rate to write FLAC at ourselves, or None to leave FLAC to HA.

    Only where Home Assistant takes the audio as asked (2026.11), for mono
    16-bit FLAC, from a voice that streams PCM.
    """
    if not (
        trusted
        and hints.container == "flac"
        and hints.channels in (None, 1)
        and hints.sample_bytes in (None, 2)
        and AudioEncoding.PCM_S16LE in client.voice_encodings(voice)
    ):
        return None
    rate = hints.sample_rate or _Offer(client, voice).pcm(sample_rate).sample_rate
    return rate if rate in FLAC_SAMPLE_RATES else None


def choose_format(
    client: type[StreamingClient],
    voice: str,
    hints: FormatHints,
    sample_rate: int | None,
    *,
    trusted: bool,
) -> AudioFormat:
    """Return what to ask the provider for, to deliver ``hints`` soonest.

    ``sample_rate`` is the profile's own PCM rate setting, if it has one;
    ``trusted`` says whether Home Assistant takes the engine's audio as asked
    (2026.11 and later) instead of converting whenever a hint is given.
    """
    offer = _Offer(client, voice)
    if not hints.shaped and hints.container in (DEFAULT_CONTAINER, "wav"):
        return _as_made(offer, hints.container, sample_rate, trusted=trusted)
    if not trusted:
        return offer.converted_soonest
    if flac_rate(client, voice, hints, sample_rate, trusted=trusted) is not None:
        # Bare samples at the nearest rate on offer, for the entity's FLAC writer.
        pcm = offer.pcm(hints.sample_rate or sample_rate)
        return AudioFormat(pcm.encoding, pcm.sample_rate, raw=True)
    if hints.container == "wav":
        rate = hints.sample_rate or offer.pcm(sample_rate).sample_rate
        exact = offer.exact_pcm(rate)
        if (
            exact is not None
            and hints.channels in (None, 1)
            and hints.sample_bytes in (None, 2)
        ):
            return exact  # nothing left to convert
        # Not makeable as asked: anything but WAV makes Home Assistant convert.
        return offer.converted_soonest
    # Another container: converted anyway, and streaming WAV starts that at once.
    return offer.pcm(hints.sample_rate or sample_rate) if offer.has_pcm else offer.mp3


def _as_made(
    offer: _Offer, container: str, sample_rate: int | None, *, trusted: bool
) -> AudioFormat:
    """Players (MP3) and plain WAV requests: delivered as the provider makes them.

    Without MP3 (Smallest.ai) Home Assistant converts for players: before
    2026.11 bare samples start that soonest, where ffmpeg's assumption of
    44.1 kHz mono holds.
    """
    if container == "wav" and offer.has_pcm:
        return offer.pcm(sample_rate)
    if offer.has_mp3:
        return offer.mp3
    audio = offer.pcm(sample_rate)
    if not trusted and (audio.sample_rate, audio.channels) == (FFMPEG_RAW_RATE, 1):
        return AudioFormat(audio.encoding, audio.sample_rate, raw=True)
    return audio
