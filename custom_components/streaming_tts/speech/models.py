"""Typed values shared by every provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .settings import Settings


class AudioEncoding(StrEnum):
    """How the audio bytes a provider sends are encoded."""

    MP3 = "mp3"
    PCM_S16LE = "pcm_s16le"


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """The audio a synthesis produces.

    ``raw`` delivers PCM without any header, for a consumer that knows its
    rate and channel count (see :attr:`container`).
    """

    encoding: AudioEncoding
    sample_rate: int
    channels: int = 1
    raw: bool = False

    @property
    def container(self) -> str:
        """Return the container the stream is delivered in (an ffmpeg demuxer name).

        PCM cannot describe its own rate or channel count, so it comes inside
        a streaming WAV header, unless ``raw`` asks for bare samples ("s16le").
        """
        if self.encoding is AudioEncoding.MP3:
            return "mp3"
        return "s16le" if self.raw else "wav"

    def same_audio(self, other: AudioFormat) -> bool:
        """Return whether both describe the same samples, whatever the container."""
        return (self.encoding, self.sample_rate, self.channels) == (
            other.encoding,
            other.sample_rate,
            other.channels,
        )


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice a provider offers.

    ``models`` lists the models the voice speaks with; empty means any.
    ``family`` is the product line a voice belongs to where one account offers
    several (Telnyx proxies Azure and Amazon Polly voices beside its own).
    """

    voice_id: str
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None
    description: str | None = None
    models: tuple[str, ...] = ()
    family: str | None = None

    @property
    def title(self) -> str:
        """Return the name, with the family where there is one (names repeat across families)."""
        return f"{self.name} ({self.family})" if self.family else self.name


@dataclass(frozen=True, slots=True)
class SynthesisOptions:
    """What one synthesis asks of a provider.

    ``language`` is the provider's own code (or ``None`` for its default);
    ``settings`` are the provider's settings, parsed by its client's
    ``parse_settings``.
    """

    voice: str
    audio_format: AudioFormat
    language: str | None = None
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long any network wait may take, in seconds.

    ``first_audio`` runs from the moment the provider has been asked to speak
    (a flush or the end of the text) until its first answer; ``chunk_gap`` is
    the longest silence allowed between two messages while audio is still owed.
    Waiting for the text itself has no deadline: a slow writer is not a fault.
    ``settle`` is the silence after a completion that proves it was the last
    when the provider answered fewer requests than it was asked (it may answer
    only once at the end); it never exceeds ``chunk_gap``.
    """

    connect: float = 10.0
    first_audio: float = 10.0
    chunk_gap: float = 10.0
    close: float = 2.0
    settle: float = 1.0


@dataclass(frozen=True, slots=True)
class FlushPolicy:
    """When to ask the provider to speak what it has, besides every sentence end.

    ``first_chars``: flush the first words as soon as this many characters of
    them are written (and the connection is open), instead of waiting for the
    first sentence to end; None waits for the sentence. A few words keep the
    first phrase natural while speech starts almost at once. Refills wait for
    as many characters too, unless that would leave the player silent.

    ``first_wait``: flush whatever words there are once the first text is this
    old, for a writer that pauses after a word or two.

    ``refill_margin``: once speaking, flush the words written so far when the
    audio queued for the player would otherwise run out (allowing for the
    provider's observed latency plus this margin); None never does, so a long
    sentence may leave a silence while it is being written.
    """

    first_chars: int | None = 12
    first_wait: float = 0.3
    refill_margin: float | None = 0.25


#: Flush at sentence ends only: the most natural prosody, the latest start.
SENTENCE_FLUSHES = FlushPolicy(
    first_chars=None, first_wait=float("inf"), refill_margin=None
)
