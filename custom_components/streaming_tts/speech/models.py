"""Typed values shared by every provider."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class AudioEncoding(StrEnum):
    """How the audio bytes a provider sends are encoded."""

    MP3 = "mp3"
    PCM_S16LE = "pcm_s16le"


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """The audio a synthesis produces."""

    encoding: AudioEncoding
    sample_rate: int
    channels: int = 1

    @property
    def container(self) -> str:
        """Return the container the stream is delivered in (an ffmpeg demuxer name).

        Raw PCM cannot describe its own rate or channel count, so it is delivered
        inside a streaming WAV header.
        """
        return "mp3" if self.encoding is AudioEncoding.MP3 else "wav"


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice a provider offers."""

    voice_id: str
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class SynthesisOptions:
    """What one synthesis asks of a provider.

    ``language`` is the provider's own code (or ``None`` for its default);
    ``extra`` holds provider-specific settings (a model name, a pitch) that the
    provider module validates itself.
    """

    voice: str
    audio_format: AudioFormat
    language: str | None = None
    speed: float | None = None
    extra: Mapping[str, str | int | float | bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long any network wait may take, in seconds.

    ``first_audio`` runs from the moment the provider has been asked to speak
    (a flush or the end of the text) until its first answer; ``chunk_gap`` is
    the longest silence allowed between two messages while audio is still owed.
    Waiting for the text itself has no deadline: a slow writer is not a fault.
    """

    connect: float = 10.0
    first_audio: float = 10.0
    chunk_gap: float = 10.0
    close: float = 2.0
