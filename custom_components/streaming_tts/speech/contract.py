"""What a provider module implements: how one synthesis is spelled on the wire.

:class:`WireProtocol` describes a streaming synthesis on the provider's
WebSocket (URL, headers, how text, flush and finish are spelled, how server
messages read); :class:`HttpStreamProtocol` describes one over HTTP with
server-sent events, for a provider that has that as a fallback. Both are
plain descriptions: connecting, deadlines, redaction of the key and mapping
transport failures to errors are the engine's (``websocket_answer``,
``http_stream``, ``client``), so no provider can forget them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final

from .errors import (
    SpeechConnectionError,
    SpeechError,
    SpeechProtocolError,
    http_status_error,
)
from .events import JSONMessage, ProviderEvent, StreamDone
from .models import SynthesisOptions

# 1000 is a normal close; 1005 means the close frame carried no code at all.
NORMAL_CLOSE_CODES: Final = frozenset({1000, 1005})


def bearer(api_key: str) -> dict[str, str]:
    """Return the Authorization header most providers authenticate with."""
    return {"Authorization": f"Bearer {api_key}"}


class SynthesisDescription:
    """What every description of one synthesis starts from.

    The client builds one per synthesis, with its API root, the key and
    options it has already checked.
    """

    #: The provider's name, used in error messages.
    provider: ClassVar[str]
    #: Longest text one message (or request) may carry, or None.
    max_text_chars: ClassVar[int | None] = None

    def __init__(self, base_url: str, api_key: str, options: SynthesisOptions) -> None:
        """Describe a synthesis of ``options`` at ``base_url``."""
        self.base_url = base_url
        self.api_key = api_key
        self.options = options


class WireProtocol(SynthesisDescription, ABC):
    """How one provider spells a streaming synthesis on its WebSocket."""

    #: Whether every flush is answered (FlushDone). Without answers, a flush
    #: only owes its first audio, and the end is what proves completeness.
    acks_flushes: ClassVar[bool] = True
    #: Whether each request to speak (a flush, or a finish that speaks the
    #: rest) is answered by one FlushDone or Completion. Then, once the text
    #: has ended, as many answers as requests mean all audio was sent; without
    #: it, only the close or a silence after a Completion tells.
    counts_answers: ClassVar[bool] = True
    #: Seconds without sending anything after which keepalive() is sent, for
    #: providers that close a connection that stays quiet while a writer thinks.
    keepalive_interval: ClassVar[float | None] = None

    @abstractmethod
    def url(self) -> str:
        """Return the WebSocket URL to connect to."""

    def headers(self) -> Mapping[str, str]:
        """Return the headers of the WebSocket upgrade request."""
        return {}

    @abstractmethod
    def open(self) -> list[JSONMessage]:
        """Return the messages sent right after connecting (init, config...)."""

    @abstractmethod
    def text(self, text: str) -> list[JSONMessage]:
        """Return the messages that append text."""

    @abstractmethod
    def flush(self) -> list[JSONMessage]:
        """Return the messages that make the provider speak what it has now."""

    def text_and_flush(self, text: str) -> list[JSONMessage]:
        """Return the messages that append text and ask for speech at once."""
        return self.text(text) + self.flush()

    @abstractmethod
    def finish(self, *, unflushed: bool) -> list[JSONMessage]:
        """Return the messages that say the text has ended.

        With ``unflushed``, words were sent since the last flush: the messages
        must have them spoken as one more request, answered like a flush.
        Without, nothing is left to speak, so no empty flush may be sent.
        """

    def keepalive(self) -> list[JSONMessage]:
        """Return the messages that keep an idle connection open."""
        return []

    def abandon(self) -> list[JSONMessage]:
        """Return the messages that stop work on a stream nobody listens to any more."""
        return []

    def fallback(self, error: SpeechError) -> HttpStreamProtocol | None:
        """Return how to speak over HTTP when the WebSocket refused with ``error``."""
        return None

    @abstractmethod
    def on_text(self, message: JSONMessage) -> Iterable[ProviderEvent]:
        """Read one JSON message from the provider; raise a SpeechError for errors."""

    def on_binary(self, data: bytes) -> Iterable[ProviderEvent]:
        """Read one binary message from the provider."""
        raise SpeechProtocolError(
            f"{self.provider} sent an unexpected binary message", provider=self.provider
        )

    def on_close(self, *, finished: bool, code: int) -> Iterable[ProviderEvent]:
        """Read the provider closing the connection with a close frame.

        By default a normal close after the end of the text means all audio
        was sent; any other close is a broken stream (unless every request
        had been answered: the engine decides that before asking).
        """
        if finished and code in NORMAL_CLOSE_CODES:
            return (StreamDone(),)
        raise SpeechConnectionError(
            f"{self.provider} closed the connection (code {code}) before the "
            "speech was complete",
            provider=self.provider,
        )

    def handshake_error(self, status: int) -> SpeechError:
        """Map an HTTP status refusing the WebSocket upgrade to an error."""
        return http_status_error(self.provider, status, "")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One POST that speaks a segment of text."""

    url: str
    headers: dict[str, str]
    body: JSONMessage


class HttpStreamProtocol(SynthesisDescription, ABC):
    """How one provider spells a streamed synthesis of one text over HTTP."""

    @abstractmethod
    def request(self, text: str) -> HttpRequest:
        """Return the request that speaks ``text``."""

    @abstractmethod
    def on_event(self, data: JSONMessage) -> Iterable[ProviderEvent]:
        """Read one event's JSON data; raise a SpeechError for errors."""

    def error(self, status: int, detail: str) -> SpeechError:
        """Map an HTTP error status (and the provider's message) to an error."""
        return http_status_error(self.provider, status, detail)
