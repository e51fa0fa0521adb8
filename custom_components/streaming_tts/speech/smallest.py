"""Smallest.ai Waves: Lightning over the live WebSocket, with SSE as the fallback.

Every message is a self-contained request: the voice settings travel with
each text fragment. Fragments carry ``continue: true``; a final message with
``continue: false`` ends the text, and flushes only if words are still
unspoken (an empty flush is never sent). ``complete`` may come once at the
end, after every flush or per sentence; the engine counts them against the
flushes and waits out a short silence (see ``Completion``), so no variant
loses audio. The server may or may not close afterwards: we close ourselves.
Audio is base64 PCM inside JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import logging
from typing import Any, Final

from .client import StreamingClient
from .contract import HttpRequest, HttpStreamProtocol, WireProtocol, bearer
from .errors import SpeechError, SpeechProtocolError, message_error
from .events import (
    AudioChunk,
    Completion,
    JSONMessage,
    Progress,
    ProviderEvent,
    StreamDone,
    audio_from_base64,
)
from .models import AudioEncoding, SynthesisOptions, Voice
from .settings import MODEL, SAMPLE_RATE, SPEED, ProviderOption
from .urls import websocket_url

_LOGGER = logging.getLogger(__name__)

PROVIDER: Final = "Smallest.ai Waves"
DEFAULT_BASE_URL: Final = "https://api.smallest.ai"
LIVE_PATH: Final = "/waves/v1/tts/live"
VOICES_PATH: Final = "/waves/v1/lightning-v3.1/get_voices"
#: The Lightning models, by id, with the names the provider gives them.
MODEL_NAMES: Final = {
    "lightning_v3.1": "Lightning v3.1",
    "lightning_v3.1_pro": "Lightning v3.1 Pro",
}
MODELS: Final = tuple(MODEL_NAMES)
# 44.1 kHz first: the provider's own default, and the rate raw PCM needs to
# reach Home Assistant's converter without a WAV header (see the entity).
SAMPLE_RATES: Final = (44100, 24000, 16000, 8000)
SPEED_OPTION: Final = ProviderOption(SPEED, 1.0, minimum=0.5, maximum=2.0)
MODEL_OPTION: Final = ProviderOption(
    MODEL, MODELS[0], choices=MODELS, labels=MODEL_NAMES
)
SAMPLE_RATE_OPTION: Final = ProviderOption(
    SAMPLE_RATE, SAMPLE_RATES[0], choices=SAMPLE_RATES, unit="Hz"
)
LANGUAGES: Final = (
    "ar", "bn", "de", "el", "en", "es", "fi", "fr", "gu", "hi", "id", "it", "ja",
    "kn", "ko", "ml", "mr", "ms", "nl", "no", "or", "pa", "pl", "pt", "ru", "sv",
    "ta", "te", "tr", "vi", "zh",
)  # fmt: skip
# The server closes a connection after 60 s without a client message.
KEEPALIVE_INTERVAL: Final = 20.0
# Statuses that mean "no WebSocket here" (a proxy, a retired route), not
# "you may not": worth trying the same request over SSE.
_NO_WEBSOCKET: Final = frozenset({404, 405, 426, 501, 502, 503})


def _request(options: SynthesisOptions, text: str) -> dict[str, Any]:
    """Return the fields every request repeats, with ``text``."""
    body: dict[str, Any] = {
        "voice_id": options.voice,
        "text": text,
        "model": options.settings.value(MODEL_OPTION),
        "sample_rate": options.audio_format.sample_rate,
        "speed": options.settings.value(SPEED_OPTION),
    }
    if options.language:
        body["language"] = options.language
    return body


def _error(message: JSONMessage) -> SpeechError:
    """Read an error in any of its shapes: message, error text or error object.

    The error object's ``code`` (or a top-level one) classifies it before words do.
    """
    error = message.get("error")
    code = message.get("code")
    if isinstance(error, Mapping):
        code = error.get("code") or error.get("type") or code
        error = error.get("message")
    text = message.get("message") or error or "unknown error"
    return message_error(
        PROVIDER, str(text), code=str(code) if isinstance(code, str) else None
    )


def _audio(message: JSONMessage) -> AudioChunk | None:
    """Return the audio of a nested (WebSocket) or flat (SSE) chunk, if any."""
    data = message.get("data")
    if isinstance(data, Mapping) and "audio" in data:
        return audio_from_base64(PROVIDER, data["audio"])
    if "audio" in message:
        return audio_from_base64(PROVIDER, message["audio"])
    return None


class SmallestProtocol(WireProtocol):
    """One streamed request on the live WebSocket."""

    provider = PROVIDER
    # Whether a mid-text flush is answered is not known, so pacing does not
    # wait for it; its first audio is what it owes.
    acks_flushes = False
    keepalive_interval = KEEPALIVE_INTERVAL

    def url(self) -> str:
        """Return the live endpoint."""
        return websocket_url(self.base_url, LIVE_PATH)

    def headers(self) -> Mapping[str, str]:
        """Authenticate the upgrade."""
        return bearer(self.api_key)

    def open(self) -> list[JSONMessage]:
        """Nothing: every request carries its own settings."""
        return []

    def _message(self, text: str, *, more: bool, flush: bool) -> JSONMessage:
        return {**_request(self.options, text), "continue": more, "flush": flush}

    def text(self, text: str) -> list[JSONMessage]:
        """Append text to the request."""
        return [self._message(text, more=True, flush=False)]

    def text_and_flush(self, text: str) -> list[JSONMessage]:
        """Append text and have the buffer spoken now."""
        return [self._message(text, more=True, flush=True)]

    def flush(self) -> list[JSONMessage]:
        """Have the buffer spoken now."""
        return [self._message("", more=True, flush=True)]

    def finish(self, *, unflushed: bool) -> list[JSONMessage]:
        """End the request, flushing only if words are still unspoken."""
        return [self._message("", more=False, flush=unflushed)]

    def keepalive(self) -> list[JSONMessage]:
        """Send an empty fragment: any message resets the server's idle timer."""
        return [self._message("", more=True, flush=False)]

    def on_text(self, message: JSONMessage) -> Iterable[ProviderEvent]:
        """Read chunks, completion, timestamps and errors."""
        status = message.get("status")
        if status == "error":
            raise _error(message)
        if status == "chunk":
            chunk = _audio(message)
            if chunk is None:
                raise SpeechProtocolError(
                    f"{PROVIDER} sent a chunk without audio", provider=PROVIDER
                )
            return (chunk,)
        if status == "complete" or message.get("done") is True:
            return (Completion(),)
        if status != "word_timestamp":
            _LOGGER.debug("ignoring %s message with status %s", PROVIDER, status)
        return (Progress(),)

    def fallback(self, error: SpeechError) -> HttpStreamProtocol | None:
        """Use SSE when the WebSocket route is missing or blocked on the way."""
        status = error.status
        if status is None or not (status < 400 or status in _NO_WEBSOCKET):
            return None
        return SmallestSse(self.base_url, self.api_key, self.options)


class SmallestSse(HttpStreamProtocol):
    """One POST to the live endpoint, answered with server-sent events."""

    provider = PROVIDER

    def request(self, text: str) -> HttpRequest:
        """Return the POST that speaks ``text``."""
        return HttpRequest(
            url=f"{self.base_url}{LIVE_PATH}",
            headers={**bearer(self.api_key), "Accept": "text/event-stream"},
            body={**_request(self.options, text), "output_format": "pcm"},
        )

    def error(self, status: int, detail: str) -> SpeechError:
        """Read a refusal by its message first: a 400 may name the voice."""
        return message_error(PROVIDER, detail or f"HTTP {status}", status=status)

    def on_event(self, data: JSONMessage) -> Iterable[ProviderEvent]:
        """Read an event of either shape: flat ``audio``/``done``, or nested chunks."""
        if data.get("status") == "error" or ("error" in data and "audio" not in data):
            raise _error(data)
        events: list[ProviderEvent] = []
        if (chunk := _audio(data)) is not None:
            events.append(chunk)
        if data.get("done") is True or data.get("status") == "complete":
            events.append(StreamDone())
        return events


class SmallestClient(StreamingClient):
    """Client for Smallest.ai Waves streaming speech."""

    provider_id = "smallest"
    provider = PROVIDER
    default_base_url = DEFAULT_BASE_URL
    languages = LANGUAGES
    pcm_sample_rates = SAMPLE_RATES
    mp3_sample_rate = 24000
    # Audio over the WebSocket is PCM; other formats there are not documented.
    encodings = frozenset({AudioEncoding.PCM_S16LE})
    options = (SPEED_OPTION, MODEL_OPTION, SAMPLE_RATE_OPTION)
    wire_protocol = SmallestProtocol

    async def _fetch_voices(self) -> list[Voice]:
        """Return the Lightning voices (standard and Pro together)."""
        voices = []
        for item in await self._voice_items(VOICES_PATH, "voices", id_key="voiceId"):
            tags = item.get("tags")
            tags = tags if isinstance(tags, dict) else {}
            languages = tags.get("language")
            voices.append(
                Voice(
                    voice_id=str(item["voiceId"]),
                    name=str(item.get("displayName") or item["voiceId"]),
                    languages=tuple(map(str, languages))
                    if isinstance(languages, list)
                    else (),
                    gender=tags.get("gender"),
                )
            )
        return sorted(voices, key=lambda voice: voice.name.casefold())
