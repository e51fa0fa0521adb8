"""Set up a provider account in the UI: provider and key (checked live), then a voice."""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_API_KEY
from homeassistant.data_entry_flow import InvalidData, section
from homeassistant.helpers.selector import (
    LanguageSelector,
    LanguageSelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from . import create_client
from .const import (
    CONF_ADVANCED,
    CONF_BASE_URL,
    CONF_LANGUAGE,
    CONF_PROVIDER,
    CONF_VOICE,
    DOMAIN,
    MODEL_LABELS,
    PROVIDER_NAMES,
)
from .languages import ha_languages
from .options import (
    InvalidOptionError,
    option_fields,
    parse_options,
    synthesis_settings,
)
from .speech import (
    PROVIDERS,
    AudioEncoding,
    SpeechAuthError,
    SpeechConnectionError,
    SpeechError,
    SpeechRequestError,
    SpeechVoiceError,
    StreamingClient,
    SynthesisOptions,
    Voice,
    check_base_url,
)

_LOGGER = logging.getLogger(__name__)

USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_PROVIDER, default="lmnt"): SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(value=provider, label=name)
                    for provider, name in PROVIDER_NAMES.items()
                ],
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_PROVIDER,
            )
        ),
        vol.Required(CONF_API_KEY): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        vol.Optional(CONF_ADVANCED): section(
            vol.Schema(
                {
                    vol.Optional(CONF_BASE_URL): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.URL)
                    )
                }
            ),
            {"collapsed": True},
        ),
    },
    # API clients that fill fields by name may send base_url at the top level;
    # the step accepts that spelling and rejects any other extra key.
    extra=vol.ALLOW_EXTRA,
)


def voice_label(voice: Voice) -> str:
    """Return a voice's name, with the models it speaks with, if only some."""
    if not voice.models:
        return voice.name
    models = ", ".join(MODEL_LABELS.get(model, model) for model in voice.models)
    return f"{voice.name} · {models}"


def _reject_extra_keys(user_input: dict[str, Any]) -> None:
    """Refuse unknown fields the way a strict schema would (HTTP 400 for API clients)."""
    known = {CONF_PROVIDER, CONF_API_KEY, CONF_ADVANCED, CONF_BASE_URL}
    if extra := sorted(set(user_input) - known):
        message = "extra keys not allowed"
        raise InvalidData(message, [extra[0]], message, dict.fromkeys(extra, message))


class StreamingTTSConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add one provider account."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known."""
        self._data: dict[str, str] = {}
        self._voices: list[Voice] = []

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the provider and its API key, and check the key live."""
        errors: dict[str, str] = {}
        if user_input is not None:
            _reject_extra_keys(user_input)
            provider = user_input[CONF_PROVIDER]
            base_url = (
                user_input.get(CONF_BASE_URL)
                or user_input.get(CONF_ADVANCED, {}).get(CONF_BASE_URL)
                or PROVIDERS[provider].default_base_url
            )
            data = {
                CONF_PROVIDER: provider,
                CONF_API_KEY: user_input[CONF_API_KEY].strip(),
            }
            self._async_abort_entries_match(
                {CONF_PROVIDER: provider, CONF_API_KEY: data[CONF_API_KEY]}
            )
            try:
                data[CONF_BASE_URL] = check_base_url(base_url)
            except ValueError:
                errors["base"] = "invalid_base_url"
            else:
                errors = await self._check_key(data)
            if not errors:
                self._data = data
                return await self.async_step_voice()
        # Suggest back what was entered, except the key: it is never sent out again.
        suggested = {k: v for k, v in (user_input or {}).items() if k != CONF_API_KEY}
        schema = self.add_suggested_values_to_schema(USER_SCHEMA, suggested)
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(schema.schema, extra=vol.ALLOW_EXTRA),
            errors=errors,
            description_placeholders={"emulator_hint": "http://127.0.0.1:8901"},
        )

    async def _check_key(self, data: dict[str, str]) -> dict[str, str]:
        """Fetch the voice list with the key; return the form errors, if any."""
        client = create_client(self.hass, data)
        try:
            self._voices = await client.list_voices()
        except SpeechAuthError:
            return {"base": "invalid_auth"}
        except SpeechConnectionError:
            return {"base": "cannot_connect"}
        except SpeechError as err:
            _LOGGER.warning("%s refused the voice list: %s", client.provider, err)
            return {"base": "provider_error"}
        return {}

    async def async_step_voice(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick a voice from the provider's list (or type an id), a language and settings."""
        provider_id = self._data[CONF_PROVIDER]
        client = create_client(self.hass, self._data)
        languages = ha_languages(client.languages)
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = self._check_voice(client, user_input)
            if not errors:
                return self.async_create_entry(
                    title=PROVIDER_NAMES[provider_id], data=self._data, options=options
                )
        default_language = self.hass.config.language
        if default_language not in languages:
            default_language = "en" if "en" in languages else languages[0]
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_VOICE,
                    default=self._voices[0].voice_id if self._voices else vol.UNDEFINED,
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(
                                value=voice.voice_id, label=voice_label(voice)
                            )
                            for voice in self._voices
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                        custom_value=True,
                    )
                ),
                vol.Required(CONF_LANGUAGE, default=default_language): LanguageSelector(
                    LanguageSelectorConfig(languages=languages, native_name=True)
                ),
                **option_fields(type(client), user_input or {}),
            }
        )
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(
            step_id="voice",
            data_schema=schema,
            errors=errors,
            description_placeholders={"provider": PROVIDER_NAMES[provider_id]},
        )

    @staticmethod
    def _check_voice(
        client: StreamingClient, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Return the entry options for the voice step, or the form errors."""
        voice = str(user_input[CONF_VOICE]).strip()
        if not voice:
            return {}, {CONF_VOICE: "voice_required"}
        try:
            parsed = parse_options(type(client), user_input)
        except InvalidOptionError as err:
            return {}, {err.key: "invalid_option"}
        speed, sample_rate, extra = synthesis_settings(parsed)
        try:
            client.check_options(
                SynthesisOptions(
                    voice=voice,
                    audio_format=client.audio_format(AudioEncoding.MP3, sample_rate),
                    speed=speed,
                    extra=extra,
                )
            )
        except SpeechVoiceError:
            return {}, {CONF_VOICE: "voice_not_for_model"}
        except SpeechRequestError:
            return {}, {"base": "invalid_option"}
        return {
            CONF_VOICE: voice,
            CONF_LANGUAGE: user_input[CONF_LANGUAGE],
            **parsed,
        }, {}

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start replacing a key the provider no longer accepts."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new key for the same provider and check it live."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY].strip()}
            errors = await self._check_key(data)
            if not errors:
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_API_KEY): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            errors=errors,
            description_placeholders={
                "provider": PROVIDER_NAMES[entry.data[CONF_PROVIDER]]
            },
        )
