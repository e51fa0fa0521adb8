"""LMNT: the typed "sessions" WebSocket protocol and the voice list.

The key travels inside the first JSON message (not in a header), audio comes
as binary frames, each flush is acknowledged with its nonce, and after
``finish`` the server sends the rest of the audio and closes the socket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import logging
from typing import Any, Final

from .client import StreamingClient
from .contract import WireProtocol
from .errors import (
    MAX_ERROR_TEXT,
    SpeechAuthError,
    SpeechError,
    SpeechProviderError,
    SpeechQuotaError,
    SpeechRateLimitError,
    SpeechRequestError,
    SpeechVoiceError,
)
from .events import AudioChunk, FlushDone, JSONMessage, Progress, ProviderEvent
from .models import AudioEncoding, SynthesisOptions, Voice
from .urls import websocket_url

_LOGGER = logging.getLogger(__name__)

PROVIDER: Final = "LMNT"
DEFAULT_BASE_URL: Final = "https://api.lmnt.com"
STREAM_PATH: Final = "/v1/ai/speech/stream"
VOICES_PATH: Final = "/v1/ai/voice/list"
# The API version the official SDK 2.13 speaks; it selects the typed protocol.
API_VERSION: Final = "1.2"

LANGUAGES: Final = (
    "ar", "bn", "cs", "da", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja",
    "ko", "ml", "mr", "nl", "pl", "pt", "ru", "sk", "sv", "ta", "te", "th", "tr",
    "uk", "ur", "vi", "zh",
)  # fmt: skip
ENCODINGS: Final = {AudioEncoding.MP3: "mp3", AudioEncoding.PCM_S16LE: "pcm_s16le"}

_ERRORS: Final[Mapping[str, type[SpeechError]]] = {
    "authentication_error": SpeechAuthError,
    "permission_error": SpeechAuthError,
    "payment_required_error": SpeechQuotaError,
    "rate_limit_error": SpeechRateLimitError,
    "not_found_error": SpeechVoiceError,
    "invalid_request_error": SpeechRequestError,
}


class LmntProtocol(WireProtocol):
    """One LMNT speech session."""

    provider = PROVIDER

    def __init__(self, base_url: str, api_key: str, options: SynthesisOptions) -> None:
        """Describe a session for ``options``; flushes are numbered from 1."""
        super().__init__(base_url, api_key, options)
        self._nonce = 0

    def url(self) -> str:
        """Return the sessions endpoint."""
        return websocket_url(self.base_url, STREAM_PATH)

    def open(self) -> list[JSONMessage]:
        """Return the init message, which carries the key."""
        audio = self.options.audio_format
        init: dict[str, Any] = {
            "X-API-Key": self.api_key,
            "lmnt-version": API_VERSION,
            "voice": self.options.voice,
            "format": ENCODINGS[audio.encoding],
            "sample_rate": audio.sample_rate,
        }
        if self.options.language:
            init["language"] = self.options.language
        return [init]

    def text(self, text: str) -> list[JSONMessage]:
        """Append text; LMNT accepts any fragment."""
        return [{"type": "text", "text": text}]

    def flush(self) -> list[JSONMessage]:
        """Ask for speech now; the acknowledgement carries the same nonce."""
        self._nonce += 1
        return [{"type": "flush", "nonce": self._nonce}]

    def finish(self, *, unflushed: bool) -> list[JSONMessage]:
        """End the text; the server speaks the rest, then closes.

        Words not yet flushed are flushed first: the acknowledgement then
        proves all audio was sent, whether or not the server closes.
        """
        return [*(self.flush() if unflushed else []), {"type": "finish"}]

    def on_binary(self, data: bytes) -> Iterable[ProviderEvent]:
        """Audio always comes as binary frames."""
        return (AudioChunk(data),)

    def on_text(self, message: JSONMessage) -> Iterable[ProviderEvent]:
        """Read ready, timestamps, acknowledgements and errors."""
        kind = message.get("type")
        if kind == "error" or (kind is None and "error" in message):
            raise self._error(message)
        if kind == "flush_complete" or message.get("complete") == "flush":
            return (FlushDone(),)
        # ready, timestamps, reset_complete; unknown types are tolerated so a
        # newer server does not break older installs.
        if kind not in ("ready", "timestamps", "reset_complete"):
            _LOGGER.debug("ignoring LMNT message of type %s", kind)
        return (Progress(),)

    def _error(self, message: JSONMessage) -> SpeechError:
        error = message.get("error")
        if isinstance(error, Mapping):
            slug = str(error.get("type", ""))
            text = str(error.get("message", "")) or slug
        else:  # the older protocol spells errors as {"error": "<text>"}
            slug, text = "", str(error)
        error_type = _ERRORS.get(slug, SpeechProviderError)
        return error_type(f"{PROVIDER}: {text[:MAX_ERROR_TEXT]}", provider=PROVIDER)


class LmntClient(StreamingClient):
    """Client for LMNT's streaming speech API."""

    provider_id = "lmnt"
    provider = PROVIDER
    default_base_url = DEFAULT_BASE_URL
    languages = LANGUAGES
    pcm_sample_rates = (24000, 16000, 8000)
    mp3_sample_rate = 24000
    # The sessions protocol has no speed or other voice settings.
    options = ()
    wire_protocol = LmntProtocol

    def _rest_headers(self) -> dict[str, str]:
        return {"X-API-Key": self._api_key, "lmnt-version": API_VERSION}

    async def _fetch_voices(self) -> list[Voice]:
        """Return the voices this account can use (system, own and shared)."""
        items = await self._voice_items(
            VOICES_PATH, id_key="id", params={"owner": "all", "starred": "false"}
        )
        voices = [
            Voice(
                voice_id=str(item["id"]),
                name=str(item.get("name") or item["id"]),
                gender=item.get("gender"),
                description=item.get("description"),
            )
            for item in items
            # Voices still training cannot speak yet.
            if item.get("state", "ready") == "ready"
        ]
        return sorted(voices, key=lambda voice: voice.name.casefold())
