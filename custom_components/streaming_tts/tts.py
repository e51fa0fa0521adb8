"""The TTS entity: maps Home Assistant's requests onto the speech library."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
import contextlib
from typing import Any

from homeassistant.components.tts import (
    ATTR_VOICE,
    TextToSpeechEntity,
    TTSAudioRequest,
    TTSAudioResponse,
    TtsAudioType,
    Voice as HAVoice,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import StreamingTTSConfigEntry
from .compat import FORMAT_HINTS, TRUSTS_ENGINE_FORMAT
from .const import (
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_VOICE,
    DOMAIN,
    SUBENTRY_VOICE,
)
from .formats import FormatHints, choose_format, flac_rate
from .issues import async_report_quota
from .languages import ha_languages, provider_language
from .options import option_defaults
from .speech import (
    SpeechAuthError,
    SpeechConnectionError,
    SpeechError,
    SpeechNoTextError,
    SpeechQuotaError,
    SpeechRateLimitError,
    SpeechRequestError,
    SpeechSettingError,
    SpeechTimeoutError,
    SpeechVoiceError,
    SynthesisOptions,
)
from .speech.flac import FlacStreamWriter, Resampler

# Synthesis is a network call per request; Home Assistant need not serialise them.
PARALLEL_UPDATES = 0

# Most specific first: the first matching class decides the message.
_ERROR_KEYS: tuple[tuple[type[SpeechError], str], ...] = (
    (SpeechAuthError, "invalid_auth"),
    (SpeechQuotaError, "quota_exceeded"),
    (SpeechRateLimitError, "rate_limited"),
    (SpeechVoiceError, "voice_not_found"),
    (SpeechNoTextError, "no_text"),
    (SpeechRequestError, "bad_request"),
    (SpeechTimeoutError, "timeout"),
    (SpeechConnectionError, "cannot_connect"),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: StreamingTTSConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one TTS entity per voice profile."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_VOICE:
            async_add_entities(
                [StreamingTTSEntity(entry, subentry)],
                config_subentry_id=subentry.subentry_id,
            )


async def as_flac(
    pcm: AsyncGenerator[bytes], from_rate: int, to_rate: int
) -> AsyncGenerator[bytes]:
    """Write bare 16-bit mono PCM as a FLAC stream at ``to_rate``, as it comes."""
    resampler = Resampler(from_rate, to_rate)
    writer = FlacStreamWriter(to_rate)
    yield writer.header()
    async with contextlib.aclosing(pcm):
        async for chunk in pcm:
            if blocks := writer.write(resampler.feed(chunk)):
                yield blocks
    yield writer.finish()


def translate_error(err: SpeechError) -> HomeAssistantError:
    """Turn a library error into a translated Home Assistant error."""
    key = next(
        (key for kind, key in _ERROR_KEYS if isinstance(err, kind)), "provider_error"
    )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={
            "provider": err.provider or "",
            "message": err.message,
        },
    )


class StreamingTTSEntity(TextToSpeechEntity):
    """One voice profile of a provider account, streamed both ways."""

    # Named by the profile alone, as core's OpenAI TTS does: Media → Text-to-speech
    # titles each engine with the entity's own name, which would otherwise be
    # the same word for every profile.
    _attr_has_entity_name = False
    # Only for the icon (icons.json): the name is the profile's.
    _attr_translation_key = "speech"

    def __init__(
        self, entry: StreamingTTSConfigEntry, subentry: ConfigSubentry
    ) -> None:
        """Describe the entity from its account and its voice profile."""
        self._entry = entry
        self._client = entry.runtime_data.client
        profile = subentry.data
        self._voice: str = profile[CONF_VOICE]
        provider_settings = type(self._client)
        self._settings = option_defaults(provider_settings, profile)
        self._attr_unique_id = subentry.subentry_id
        self._attr_name = subentry.title
        # The format hints too: the entity picks what the provider makes
        # (formats.choose_format), Home Assistant converts only what differs.
        self._attr_supported_options = [
            ATTR_VOICE,
            *(option.key for option in provider_settings.options),
            *FORMAT_HINTS,
        ]
        self._attr_supported_languages = ha_languages(self._client.languages)
        self._attr_default_language = profile[CONF_LANGUAGE]
        # Every setting that changes the audio belongs here: Home Assistant's
        # cache key is built from the merged options.
        self._attr_default_options = {ATTR_VOICE: self._voice, **self._settings}
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer=self._client.provider,
            model="Streaming text-to-speech",
            entry_type=DeviceEntryType.SERVICE,
        )

    def async_get_supported_voices(self, language: str) -> list[HAVoice]:
        """Return the account's voices for the configured model, the configured one first."""
        model = self._settings.get(CONF_MODEL)
        voices = sorted(
            (
                voice
                for voice in self._entry.runtime_data.voices
                if not voice.models or model in voice.models
            ),
            key=lambda voice: voice.voice_id != self._voice,
        )
        return [HAVoice(voice.voice_id, voice.title) for voice in voices]

    def _synthesis_options(
        self, language: str, options: Mapping[str, Any]
    ) -> tuple[SynthesisOptions, int | None]:
        """Translate a request's language and options for the provider.

        Also return the rate to write FLAC at, when the entity writes it itself.
        """
        voice = str(options.get(ATTR_VOICE) or self._voice).strip()
        if not voice:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="voice_required"
            )
        code = provider_language(language, self._client.languages)
        if code is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="language_not_supported",
                translation_placeholders={"language": language},
            )
        settings = {
            key: value for key, value in options.items() if key not in FORMAT_HINTS
        }
        try:
            chosen = self._client.parse_settings({**self._settings, **settings})
        except SpeechSettingError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_option",
                translation_placeholders={
                    "option": err.key,
                    "value": str(err.value),
                    "reason": err.reason,
                },
            ) from None
        provider = type(self._client)
        hints = FormatHints.from_options(options)
        rate = chosen.sample_rate
        return SynthesisOptions(
            voice=voice,
            language=code,
            audio_format=choose_format(
                provider, voice, hints, rate, trusted=TRUSTS_ENGINE_FORMAT
            ),
            settings=chosen,
        ), flac_rate(provider, voice, hints, rate, trusted=TRUSTS_ENGINE_FORMAT)

    async def async_stream_tts_audio(
        self, request: TTSAudioRequest
    ) -> TTSAudioResponse:
        """Stream the text to the provider as it is written and the audio back as it comes.

        Returns once the first audio exists: a refusal (key, voice, no text)
        is raised here, before Home Assistant starts a converter or a player
        receives a byte, so that it becomes a clean error instead of an
        empty file.
        """
        options, flac = self._synthesis_options(request.language, request.options)
        try:
            audio = self._client.stream(request.message_gen, options)
            first = await anext(audio, b"")
        except SpeechError as err:
            raise self._failed(err) from err
        data = self._relay(first, audio)
        if flac is not None:
            return TTSAudioResponse(
                extension="flac",
                data_gen=as_flac(data, options.audio_format.sample_rate, flac),
            )
        return TTSAudioResponse(extension=options.audio_format.container, data_gen=data)

    async def _relay(
        self, first: bytes, audio: AsyncGenerator[bytes]
    ) -> AsyncGenerator[bytes]:
        """Pass audio through; translate library errors; always close the stream."""
        try:
            if first:
                yield first
            async for chunk in audio:
                yield chunk
        except SpeechError as err:
            raise self._failed(err) from err
        finally:
            await audio.aclose()
        # Speech works: any credits problem has been solved.
        async_report_quota(self.hass, self._entry, self._client.provider, False)

    def _failed(self, err: SpeechError) -> HomeAssistantError:
        """Start what the user must do (a new key, more credits); return the error."""
        if isinstance(err, SpeechAuthError):
            self._entry.async_start_reauth(self.hass)
        elif isinstance(err, SpeechQuotaError):
            async_report_quota(self.hass, self._entry, self._client.provider, True)
        return translate_error(err)

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """Speak a whole message (Home Assistant before 2025.8 calls this for full text)."""

        async def single() -> AsyncGenerator[str]:
            yield message

        response = await self.async_stream_tts_audio(
            TTSAudioRequest(language=language, options=options, message_gen=single())
        )
        return response.extension, b"".join(
            [chunk async for chunk in response.data_gen]
        )
