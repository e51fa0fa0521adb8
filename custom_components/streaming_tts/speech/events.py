"""What a provider's messages mean, whatever transport carried them."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SpeechProtocolError

type JSONMessage = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Audio bytes from the provider, already decoded from any transport encoding."""

    data: bytes


@dataclass(frozen=True, slots=True)
class FlushDone:
    """The provider has spoken everything that was flushed so far."""


@dataclass(frozen=True, slots=True)
class Completion:
    """The provider says it finished speaking something it was asked to speak.

    Providers differ in when they send it (once at the end, after every flush,
    per sentence), so after the end of the text it may or may not be the last.
    """


@dataclass(frozen=True, slots=True)
class StreamDone:
    """The provider has spoken everything, after the end of the text."""


@dataclass(frozen=True, slots=True)
class Progress:
    """Any other sign of life (ready, timestamps...): it only resets the gap deadline."""


type ProviderEvent = AudioChunk | FlushDone | Completion | StreamDone | Progress


def audio_from_base64(provider: str, data: object) -> AudioChunk:
    """Decode audio that arrived as base64 text inside JSON; None means no audio."""
    if data is None:
        return AudioChunk(b"")
    if not isinstance(data, str):
        raise SpeechProtocolError(
            f"{provider} sent audio that is not base64 text", provider=provider
        )
    try:
        return AudioChunk(base64.b64decode(data, validate=True))
    except binascii.Error:
        raise SpeechProtocolError(
            f"{provider} sent audio that is not valid base64", provider=provider
        ) from None
