"""Telnyx: one WebSocket per utterance, the voice fixed in the URL.

The first message (a single space) starts the session and carries the voice
settings. The server speaks at sentence ends on its own; ``flush`` makes it
speak a partial sentence. An empty text ends the input: the server speaks
the rest, sends a final frame and closes. Audio is base64 inside JSON (MP3, or
linear PCM for the Natural families), and frames without audio
(``audio: null``) are normal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlencode

from .audio import strip_wav_header
from .client import StreamingClient
from .contract import WireProtocol, bearer
from .errors import (
    SpeechError,
    SpeechVoiceError,
    http_status_error,
    message_error,
)
from .events import (
    Completion,
    JSONMessage,
    Progress,
    ProviderEvent,
    audio_from_base64,
)
from .models import AudioEncoding, Voice
from .settings import SPEED, ProviderOption
from .urls import websocket_url

PROVIDER: Final = "Telnyx"
DEFAULT_BASE_URL: Final = "https://api.telnyx.com"
STREAM_PATH: Final = "/v2/text-to-speech/speech"
VOICES_PATH: Final = "/v2/text-to-speech/voices"
# The server closes after this many seconds without a message (its default
# is 20); keep-alives go well within it.
INACTIVITY_TIMEOUT: Final = 60
KEEPALIVE_INTERVAL: Final = 10.0
# Voices speak their own language; these are the languages Telnyx's hosted
# voice families cover, so that pipelines in them can pick this engine.
LANGUAGES: Final = (
    "ar", "cs", "da", "de", "el", "en", "es", "fi", "fr", "he", "hi", "hu", "id",
    "it", "ja", "ko", "nl", "no", "pl", "pt", "ro", "ru", "sv", "th", "tr", "uk",
    "vi", "zh",
)  # fmt: skip


# Only these families stream linear PCM; the others (KokoroTTS, Qwen3TTS, ...)
# answer in MP3 whatever is asked for.
PCM_FAMILIES: Final = ("telnyx.natural.", "telnyx.naturalhd.")
PCM_SAMPLE_RATES: Final = (24000, 48000, 44100, 22050, 16000, 8000)
# Other families take their own voice_settings, or none: they ignore voice_speed.
# ``voices`` names the families by Voice.family.
SPEED_OPTION: Final = ProviderOption(
    SPEED, 1.0, minimum=0.5, maximum=2.0, voices=("Telnyx Natural", "Telnyx NaturalHD")
)


# How the vendors behind compound voice ids are written in product names.
VENDOR_NAMES: Final = {
    "aws": "Amazon",
    "azure": "Azure",
    "elevenlabs": "ElevenLabs",
    "fishaudio": "Fish Audio",
    "inworld": "Inworld",
    "minimax": "MiniMax",
    "murfai": "Murf AI",
    "resemble": "Resemble AI",
    "rime": "Rime",
    "telnyx": "Telnyx",
    "xai": "xAI",
}


def family_name(voice_id: str) -> str:
    """Return a voice's family as a product name: "AWS.Polly.Danielle" -> "Amazon Polly"."""
    vendor, *lines = voice_id.split(".")[:-1] or [voice_id.partition(".")[0]]
    return " ".join([VENDOR_NAMES.get(vendor.casefold(), vendor), *lines])


def speaks_pcm(voice_id: str) -> bool:
    """Return whether a voice's family streams linear PCM."""
    return voice_id.casefold().startswith(PCM_FAMILIES)


def streamable(voice_id: str) -> bool:
    """Return whether a voice can stream: Ultra voices are REST-only."""
    return ".ultra." not in f".{voice_id.casefold()}."


class TelnyxProtocol(WireProtocol):
    """One utterance on the speech WebSocket."""

    provider = PROVIDER
    # Final frames follow each sentence the server chose to speak, not each
    # flush; the close after the end is what proves completeness, and where a
    # server stays open, a silence after a final frame.
    acks_flushes = False
    counts_answers = False
    keepalive_interval = KEEPALIVE_INTERVAL

    def url(self) -> str:
        """Return the endpoint, with the session's fixed settings in the query."""
        audio = self.options.audio_format
        pcm = audio.encoding is AudioEncoding.PCM_S16LE
        query = urlencode(
            {
                "voice": self.options.voice,
                "audio_format": "linear16" if pcm else "mp3",
                **({"sample_rate": audio.sample_rate} if pcm else {}),
                "inactivity_timeout": INACTIVITY_TIMEOUT,
            }
        )
        return f"{websocket_url(self.base_url, STREAM_PATH)}?{query}"

    def headers(self) -> Mapping[str, str]:
        """Authenticate the upgrade."""
        return bearer(self.api_key)

    def open(self) -> list[JSONMessage]:
        """Return the handshake: one space, with the voice settings."""
        handshake: dict[str, Any] = {"text": " "}
        # Only the Natural families read voice_speed; others have settings of
        # their own, so theirs are left to the server's defaults.
        speed = self.options.settings.speed
        if speed is not None and speaks_pcm(self.options.voice):
            handshake["voice_settings"] = {"voice_speed": speed}
        return [handshake]

    def text(self, text: str) -> list[JSONMessage]:
        """Append text; the server speaks at sentence ends by itself."""
        return [{"text": text}]

    def text_and_flush(self, text: str) -> list[JSONMessage]:
        """Append text and have everything so far spoken now."""
        return [{"text": text, "flush": True}]

    def flush(self) -> list[JSONMessage]:
        """Have everything so far spoken now (a space adds no word)."""
        return [{"text": " ", "flush": True}]

    def finish(self, *, unflushed: bool) -> list[JSONMessage]:
        """End the input: the server speaks the rest, then closes."""
        return [{"text": ""}]

    def keepalive(self) -> list[JSONMessage]:
        """Send a space: it adds no word, and the connection stays busy."""
        return [{"text": " "}]

    def abandon(self) -> list[JSONMessage]:
        """Stop the synthesis in progress."""
        return [{"force": True}]

    def on_text(self, message: JSONMessage) -> Iterable[ProviderEvent]:
        """Read audio, text-only and final frames, and errors."""
        error = message.get("error")
        if error or message.get("type") == "error":
            raise message_error(PROVIDER, str(error or "unknown error"))
        chunk = audio_from_base64(PROVIDER, message.get("audio"))
        if chunk.data and self.options.audio_format.encoding is AudioEncoding.PCM_S16LE:
            # Whether linear16 chunks carry a WAV header is not documented.
            chunk = replace(chunk, data=strip_wav_header(chunk.data))
        if chunk.data:
            return (chunk,)
        return (Completion(),) if message.get("isFinal") is True else (Progress(),)

    def handshake_error(self, status: int) -> SpeechError:
        """Explain the refusals the speech endpoint documents."""
        voice = self.options.voice
        if status == 403:
            return SpeechVoiceError(
                f"{PROVIDER} will not stream voice {voice!r}: Ultra voices, and "
                "cloned voices without identity verification, cannot stream",
                provider=PROVIDER,
            )
        if status == 400:
            return SpeechVoiceError(
                f"{PROVIDER} refused voice {voice!r} or its settings (HTTP 400); "
                "voice ids look like Telnyx.NaturalHD.astra",
                provider=PROVIDER,
            )
        return http_status_error(PROVIDER, status, "")


class TelnyxClient(StreamingClient):
    """Client for Telnyx streaming text-to-speech."""

    provider_id = "telnyx"
    provider = PROVIDER
    default_base_url = DEFAULT_BASE_URL
    languages = LANGUAGES
    pcm_sample_rates = PCM_SAMPLE_RATES
    mp3_sample_rate = 24000
    encodings = frozenset({AudioEncoding.MP3})
    options = (SPEED_OPTION,)
    wire_protocol = TelnyxProtocol

    @classmethod
    def voice_encodings(cls, voice: str) -> frozenset[AudioEncoding]:
        """MP3 for every voice; linear PCM too for the Natural families."""
        if speaks_pcm(voice):
            return frozenset(AudioEncoding)
        return cls.encodings

    async def _fetch_voices(self) -> list[Voice]:
        """Return the voices that can stream, with their compound ids."""
        voices = []
        for item in await self._voice_items(VOICES_PATH, "voices", id_key="voice_id"):
            voice_id = str(item["voice_id"])
            provider = item.get("provider")
            if "." not in voice_id and provider:
                voice_id = f"{provider}.{voice_id}"
            if not streamable(voice_id):
                continue
            language = item.get("language")
            voices.append(
                Voice(
                    voice_id=voice_id,
                    name=str(item.get("name") or voice_id),
                    languages=(str(language),) if language else (),
                    gender=item.get("gender"),
                    family=family_name(voice_id),
                )
            )
        # Telnyx's own Natural voices first: the first is the form's default,
        # and only they take a speed and stream PCM.
        return sorted(
            voices,
            key=lambda voice: (
                not speaks_pcm(voice.voice_id),
                voice.voice_id.casefold(),
            ),
        )
