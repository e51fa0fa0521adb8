"""Sarvam: Bulbul streaming speech for Indian languages.

The key goes in the ``api-subscription-key`` header, the model in the URL. A
``config`` message comes first; text messages follow (at most 2500
characters each); a ``flush`` is answered with a ``final`` event once its
audio is out, which is also how the end is known: there is no finish message.
The engine counts finals against flushes and waits out a short silence after
the last, since a server may also send one per chunk or one for several.
Audio is base64 inside JSON. Built-in speakers are a fixed catalogue per
model (there is no API listing them); the voices endpoint lists cloned ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import logging
import re
from typing import Any, Final
from urllib.parse import urlencode

from .audio import strip_wav_header
from .client import StreamingClient
from .contract import WireProtocol
from .errors import (
    SpeechError,
    SpeechRequestError,
    SpeechVoiceError,
    message_error,
)
from .events import (
    AudioChunk,
    Completion,
    JSONMessage,
    Progress,
    ProviderEvent,
    audio_from_base64,
)
from .models import AudioEncoding, SynthesisOptions, Voice
from .sarvam_voices import SPEAKERS, V2, V3, V4_FLASH
from .settings import MODEL, SPEED, ProviderOption
from .urls import websocket_url

_LOGGER = logging.getLogger(__name__)

PROVIDER: Final = "Sarvam AI"
DEFAULT_BASE_URL: Final = "https://api.sarvam.ai"
STREAM_PATH: Final = "/text-to-speech/ws"
VOICES_PATH: Final = "/voices"
MAX_TEXT_CHARS: Final = 2500
# The server closes a connection after 60 s without a message.
KEEPALIVE_INTERVAL: Final = 20.0
# Text the server buffers before speaking without a flush, and the longest
# piece it speaks at once: the official SDK's defaults.
MIN_BUFFER_SIZE: Final = 50
MAX_CHUNK_LENGTH: Final = 150

PITCH: Final = "pitch"
LOUDNESS: Final = "loudness"
#: The Bulbul models, by id, with the names the provider gives them.
MODEL_NAMES: Final = {V3: "Bulbul v3", V4_FLASH: "Bulbul v4 Flash", V2: "Bulbul v2"}
MODELS: Final = tuple(MODEL_NAMES)
# Only these models take pitch and loudness; v3 ignores them.
TUNABLE_MODELS: Final = (V4_FLASH, V2)
SPEED_OPTION: Final = ProviderOption(SPEED, 1.0, minimum=0.5, maximum=2.0)
MODEL_OPTION: Final = ProviderOption(
    MODEL, MODELS[0], choices=MODELS, labels=MODEL_NAMES
)
PITCH_OPTION: Final = ProviderOption(
    PITCH, 0.0, minimum=-0.75, maximum=0.75, models=TUNABLE_MODELS
)
LOUDNESS_OPTION: Final = ProviderOption(
    LOUDNESS, 1.0, minimum=0.3, maximum=3.0, models=TUNABLE_MODELS
)
LANGUAGES: Final = (
    "bn-IN", "en-IN", "gu-IN", "hi-IN", "kn-IN", "ml-IN", "mr-IN", "od-IN",
    "pa-IN", "ta-IN", "te-IN",
)  # fmt: skip

_STATUS_PREFIX: Final = re.compile(r"^\s*(\d{3})\s*:")


def catalogue() -> list[Voice]:
    """Return the built-in speakers of every model."""
    return [
        Voice(voice_id=speaker, name=speaker_name(speaker), models=(model,))
        for model, speakers in SPEAKERS.items()
        for speaker in speakers
    ]


def speaker_name(speaker: str) -> str:
    """Return a readable name: "shubh_en_narration_gentle" -> "Shubh (en, narration gentle)"."""
    name, _, rest = speaker.partition("_")
    language, _, style = rest.partition("_")
    if not rest:
        return name.title()
    return f"{name.title()} ({language}, {style.replace('_', ' ')})"


class SarvamProtocol(WireProtocol):
    """One streamed synthesis on the Bulbul WebSocket."""

    provider = PROVIDER
    max_text_chars = MAX_TEXT_CHARS
    keepalive_interval = KEEPALIVE_INTERVAL
    # Finals are counted at the end, not relied on for pacing mid-text.
    acks_flushes = False

    @property
    def _model(self) -> str:
        return str(self.options.settings.value(MODEL_OPTION))

    def url(self) -> str:
        """Return the endpoint; the completion event tells when a flush is spoken."""
        query = urlencode({"model": self._model, "send_completion_event": "true"})
        return f"{websocket_url(self.base_url, STREAM_PATH)}?{query}"

    def headers(self) -> Mapping[str, str]:
        """Authenticate the upgrade: not Bearer, Sarvam's own header."""
        return {"api-subscription-key": self.api_key}

    def open(self) -> list[JSONMessage]:
        """Return the config message."""
        options = self.options
        audio = options.audio_format
        config: dict[str, Any] = {
            # The newest SDK's spelling (older ones sent target_language_code).
            "language_code": options.language or "en-IN",
            "speaker": options.voice,
            "pace": options.settings.value(SPEED_OPTION),
            "speech_sample_rate": audio.sample_rate,
            "output_audio_codec": "mp3"
            if audio.encoding is AudioEncoding.MP3
            else "linear16",
            "output_audio_bitrate": "128k",
            "min_buffer_size": MIN_BUFFER_SIZE,
            "max_chunk_length": MAX_CHUNK_LENGTH,
            "enable_preprocessing": True,
        }
        if self._model in TUNABLE_MODELS:
            config[PITCH] = options.settings.value(PITCH_OPTION)
            config[LOUDNESS] = options.settings.value(LOUDNESS_OPTION)
        return [{"type": "config", "data": config}]

    def text(self, text: str) -> list[JSONMessage]:
        """Append text (never more than MAX_TEXT_CHARS: the pump splits it)."""
        return [{"type": "text", "data": {"text": text}}]

    def flush(self) -> list[JSONMessage]:
        """Have the buffer spoken now; a final event will answer."""
        return [{"type": "flush"}]

    def finish(self, *, unflushed: bool) -> list[JSONMessage]:
        """End the text: a flush for unspoken words; there is no finish message."""
        return self.flush() if unflushed else []

    def keepalive(self) -> list[JSONMessage]:
        """Send a ping (the server does not answer it)."""
        return [{"type": "ping"}]

    def on_text(self, message: JSONMessage) -> Iterable[ProviderEvent]:
        """Read audio, completion events and errors."""
        kind = message.get("type")
        data = message.get("data")
        data = data if isinstance(data, Mapping) else {}
        if kind == "error":
            raise self._error(data)
        if kind == "audio":
            chunk = audio_from_base64(PROVIDER, data.get("audio"))
            if self.options.audio_format.encoding is AudioEncoding.PCM_S16LE:
                # Whether PCM chunks carry a WAV header is not documented.
                return (AudioChunk(strip_wav_header(chunk.data)),)
            return (chunk,)
        if kind == "event" and data.get("event_type") == "final":
            return (Completion(),)
        _LOGGER.debug("ignoring %s message of type %s", PROVIDER, kind)
        return (Progress(),)

    @staticmethod
    def _error(data: Mapping[str, Any]) -> SpeechError:
        """Read the status from ``code`` or from a "400: ..." message prefix."""
        text = str(data.get("message") or "unknown error")
        code = str(data.get("code", ""))
        status = int(code) if code.isdigit() else None
        if status is None and (match := _STATUS_PREFIX.match(text)):
            status = int(match.group(1))
        return message_error(PROVIDER, text, status=status)


class SarvamClient(StreamingClient):
    """Client for Sarvam's Bulbul streaming speech."""

    provider_id = "sarvam"
    provider = PROVIDER
    default_base_url = DEFAULT_BASE_URL
    languages = LANGUAGES
    pcm_sample_rates = (24000, 22050, 16000, 8000)
    mp3_sample_rate = 24000
    options = (SPEED_OPTION, MODEL_OPTION, PITCH_OPTION, LOUDNESS_OPTION)
    wire_protocol = SarvamProtocol

    def _rest_headers(self) -> dict[str, str]:
        return {"api-subscription-key": self._api_key}

    async def _fetch_voices(self) -> list[Voice]:
        """Return the built-in speakers and the workspace's cloned voices.

        This also checks the key: through the voices endpoint, or where that
        (beta) endpoint is missing, by opening a stream.
        """
        try:
            items = await self._voice_items(
                VOICES_PATH, "data", "voices", id_key="id", params={"limit": "200"}
            )
        except SpeechRequestError as err:
            if err.status != 404:
                raise
            await self._check_key()
            return catalogue()
        cloned = [
            Voice(
                voice_id=str(item["id"]),
                name=str(item.get("name") or item["id"]),
                languages=(str(item["language"]),) if item.get("language") else (),
                gender=item.get("gender"),
            )
            for item in items
        ]
        return catalogue() + sorted(cloned, key=lambda voice: voice.name.casefold())

    def check_options(self, options: SynthesisOptions) -> None:
        """Also refuse a built-in speaker of another model before connecting."""
        super().check_options(options)
        model = str(options.settings.value(MODEL_OPTION))
        known = any(options.voice in speakers for speakers in SPEAKERS.values())
        if known and options.voice not in SPEAKERS[model]:
            raise SpeechVoiceError(
                f"{PROVIDER} speaker {options.voice!r} does not speak with {model}",
                provider=PROVIDER,
            )

    async def _check_key(self) -> None:
        """Open a stream (the server checks the key at the upgrade) and close it."""
        options = SynthesisOptions(
            voice=SPEAKERS[MODELS[0]][0],
            audio_format=self.audio_format(AudioEncoding.MP3),
            language="en-IN",
        )
        await self.check_connection(options)
