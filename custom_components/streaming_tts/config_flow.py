"""Set up a provider account in the UI, and its voice profiles.

The account (provider, key checked live, API URL) is the config entry; each
voice profile (voice, language, provider settings) is a config subentry with
a TTS entity of its own. The first profile is made with the account.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant, callback
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

from . import StreamingTTSConfigEntry, create_client
from .compat import vol
from .const import (
    CONF_ADVANCED,
    CONF_BASE_URL,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_NAME,
    CONF_PROVIDER,
    CONF_VOICE,
    CONF_VOICE_LISTED,
    DOMAIN,
    SUBENTRY_VOICE,
)
from .languages import ha_languages
from .options import option_fields
from .speech import (
    PROVIDERS,
    AudioEncoding,
    Settings,
    SpeechAuthError,
    SpeechConnectionError,
    SpeechError,
    SpeechRequestError,
    SpeechSettingError,
    SpeechVoiceError,
    StreamingClient,
    SynthesisOptions,
    Voice,
    check_base_url,
)

_LOGGER = logging.getLogger(__name__)

KEY_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_API_KEY): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        )
    }
)

USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_PROVIDER, default="lmnt"): SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(value=provider_id, label=client.provider)
                    for provider_id, client in PROVIDERS.items()
                ],
                # Product names: shown as each provider module spells them.
                mode=SelectSelectorMode.DROPDOWN,
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


#: Each provider's own API root, for the API URL field's description.
DEFAULT_URLS = ", ".join(
    f"{client.provider} {client.default_base_url}" for client in PROVIDERS.values()
)


def voice_label(client: type[StreamingClient], voice: Voice) -> str:
    """Return a voice's title, with its language if it speaks one only, and its models if only some."""
    parts = [voice.title]
    if len(voice.languages) == 1:
        parts.append(voice.languages[0])
    if voice.models:
        parts.append(", ".join(client.model_label(model) for model in voice.models))
    return " · ".join(parts)


def _reject_extra_keys(user_input: dict[str, Any]) -> None:
    """Refuse unknown fields the way a strict schema would (HTTP 400 for API clients)."""
    known = {CONF_PROVIDER, CONF_API_KEY, CONF_ADVANCED, CONF_BASE_URL}
    if extra := sorted(set(user_input) - known):
        message = "extra keys not allowed"
        raise InvalidData(message, [extra[0]], message, dict.fromkeys(extra, message))


async def fetch_voices(
    hass: HomeAssistant, data: dict[str, str]
) -> tuple[list[Voice], dict[str, str]]:
    """Fetch the voice list with the key; return it, or the form errors."""
    client = create_client(hass, data)
    try:
        return await client.list_voices(), {}
    except SpeechAuthError:
        return [], {"base": "invalid_auth"}
    except SpeechConnectionError:
        return [], {"base": "cannot_connect"}
    except SpeechRequestError as err:
        if err.status != 404:
            _LOGGER.warning("%s refused the voice list: %s", client.provider, err)
            return [], {"base": "provider_error"}
        # Something answers at that URL, but not this provider's API.
        _LOGGER.warning("%s: the API URL answered 404: %s", client.provider, err)
        return [], {"base": "api_url_not_found"}
    except SpeechError as err:
        _LOGGER.warning("%s refused the voice list: %s", client.provider, err)
        return [], {"base": "provider_error"}


def profile_schema(
    hass: HomeAssistant,
    client: StreamingClient,
    voices: list[Voice],
    current: dict[str, Any],
    *,
    name: str | None = None,
) -> vol.Schema:
    """Return the voice-profile form: voice, language and the provider's settings."""
    languages = ha_languages(client.languages)
    voice = current.get(CONF_VOICE) or (voices[0].voice_id if voices else None)
    language = current.get(CONF_LANGUAGE) or voice_language(voices, voice, languages)
    if language not in languages:
        language = hass.config.language
    if language not in languages:
        language = "en" if "en" in languages else languages[0]
    fields: dict[vol.Marker, Any] = {}
    if name is not None:
        fields[vol.Required(CONF_NAME, default=name)] = TextSelector()
    settings = option_fields(type(client), current)
    # The model decides which voices fit, so it comes before the voice.
    fields.update({key: value for key, value in settings.items() if key == CONF_MODEL})
    fields[vol.Required(CONF_VOICE, default=voice or vol.UNDEFINED)] = SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(
                    value=voice.voice_id, label=voice_label(type(client), voice)
                )
                for voice in voices
            ],
            mode=SelectSelectorMode.DROPDOWN,
            custom_value=True,
        )
    )
    fields[vol.Required(CONF_LANGUAGE, default=language)] = LanguageSelector(
        # All in the user's language: native names only exist for some codes.
        LanguageSelectorConfig(languages=languages)
    )
    fields.update({key: value for key, value in settings.items() if key != CONF_MODEL})
    return vol.Schema(fields)


def voice_language(
    voices: list[Voice], voice: str | None, languages: list[str]
) -> str | None:
    """Return the language a voice that speaks one only speaks, as offered in the form."""
    listed = next((v for v in voices if v.voice_id == voice), None)
    if listed is None or len(listed.languages) != 1:
        return None
    code = listed.languages[0]
    for candidate in (code, code.partition("-")[0].lower()):
        if candidate in languages:
            return candidate
    return None


def ignored_setting(
    client: type[StreamingClient], voices: list[Voice], voice: str, settings: Settings
) -> str | None:
    """Return a setting changed from its default that the listed voice would ignore.

    A provider speaks such a request anyway (the setting is dropped), so only
    the form, where the user can still choose, refuses it.
    """
    listed = next((v for v in voices if v.voice_id == voice), None)
    for option in client.options:
        if (
            listed is not None
            and option.voices
            and listed.family not in option.voices
            and settings.value(option) != option.default
        ):
            return option.key
    return None


def check_profile(
    client: StreamingClient, voices: list[Voice], user_input: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return a voice profile's data from the form, or the form errors."""
    voice = str(user_input[CONF_VOICE]).strip()
    if not voice:
        return {}, {CONF_VOICE: "voice_required"}
    try:
        settings = client.parse_settings(user_input)
    except SpeechSettingError as err:
        return {}, {err.key: "invalid_option"}
    try:
        client.check_options(
            SynthesisOptions(
                voice=voice,
                audio_format=client.audio_format(
                    AudioEncoding.MP3, settings.sample_rate
                ),
                settings=settings,
            )
        )
    except SpeechVoiceError:
        return {}, {CONF_VOICE: "voice_not_for_model"}
    except SpeechRequestError:
        return {}, {"base": "invalid_option"}
    if key := ignored_setting(type(client), voices, voice, settings):
        return {}, {key: "setting_not_for_voice"}
    return {
        CONF_VOICE: voice,
        CONF_VOICE_LISTED: any(v.voice_id == voice for v in voices),
        CONF_LANGUAGE: user_input[CONF_LANGUAGE],
        **settings.chosen,
    }, {}


def profile_placeholders(client: type[StreamingClient]) -> dict[str, str]:
    """Return the voice-profile form's placeholders.

    The provider's name, and for each setting the models (``<key>_models``)
    and voice families (``<key>_voices``) that take it.
    """
    placeholders = {"provider": client.provider}
    for option in client.options:
        models = [client.model_label(model) for model in option.models]
        placeholders[f"{option.key}_models"] = ", ".join(models) or "all"
        placeholders[f"{option.key}_voices"] = ", ".join(option.voices) or "all"
    return placeholders


def default_profile_name(provider: str, voices: list[Voice], voice: str) -> str:
    """Return "<Provider> <voice name>", the title suggested for a new profile."""
    name = next((v.name for v in voices if v.voice_id == voice), voice)
    return f"{provider} {name}"


class StreamingTTSConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add one provider account, with its first voice profile."""

    VERSION = 2

    def __init__(self) -> None:
        """Start with nothing known."""
        self._data: dict[str, str] = {}
        self._voices: list[Voice] = []

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Voice profiles can be added, changed and removed."""
        return {SUBENTRY_VOICE: VoiceProfileFlow}

    def _account_data(self, user_input: dict[str, Any]) -> dict[str, str]:
        """Read provider, key and API URL from the user step."""
        provider = user_input[CONF_PROVIDER]
        base_url = (
            user_input.get(CONF_BASE_URL)
            or user_input.get(CONF_ADVANCED, {}).get(CONF_BASE_URL)
            or PROVIDERS[provider].default_base_url
        )
        return {
            CONF_PROVIDER: provider,
            CONF_API_KEY: user_input[CONF_API_KEY].strip(),
            CONF_BASE_URL: base_url,
        }

    async def _check_account(self, data: dict[str, str]) -> dict[str, str]:
        """Check the API URL, then the key (live); keep the voices it lists."""
        try:
            data[CONF_BASE_URL] = check_base_url(data[CONF_BASE_URL])
        except ValueError:
            return {"base": "invalid_base_url"}
        self._voices, errors = await fetch_voices(self.hass, data)
        return errors

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the provider and its API key, and check the key live."""
        errors: dict[str, str] = {}
        if user_input is not None:
            _reject_extra_keys(user_input)
            data = self._account_data(user_input)
            self._async_abort_entries_match(
                {CONF_PROVIDER: data[CONF_PROVIDER], CONF_API_KEY: data[CONF_API_KEY]}
            )
            errors = await self._check_account(data)
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
            description_placeholders={"default_urls": DEFAULT_URLS},
        )

    async def async_step_voice(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Make the first voice profile: a voice, a language and the provider's settings."""
        client = create_client(self.hass, self._data)
        errors: dict[str, str] = {}
        if user_input is not None:
            profile, errors = check_profile(client, self._voices, user_input)
            if not errors:
                return self.async_create_entry(
                    title=client.provider,
                    data=self._data,
                    subentries=[
                        {
                            "subentry_type": SUBENTRY_VOICE,
                            "title": default_profile_name(
                                client.provider, self._voices, profile[CONF_VOICE]
                            ),
                            "data": profile,
                            "unique_id": None,
                        }
                    ],
                )
        schema = profile_schema(self.hass, client, self._voices, user_input or {})
        return self.async_show_form(
            step_id="voice",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders=profile_placeholders(type(client)),
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start replacing a key the provider no longer accepts."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new key of the same account and check it live."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY].strip()}
            errors = await self._check_same_account(entry, data)
            if not errors:
                # The update listener reloads the entry. The reason is named so
                # the message is this integration's (2026.x defaults to core's).
                return self.async_update_and_abort(
                    entry, data=data, reason="reauth_successful"
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=KEY_SCHEMA,
            errors=errors,
            description_placeholders={
                "provider": PROVIDERS[entry.data[CONF_PROVIDER]].provider
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the API URL (or the key) of the account in place."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {
                **entry.data,
                CONF_API_KEY: user_input[CONF_API_KEY].strip(),
                CONF_BASE_URL: user_input.get(CONF_BASE_URL)
                or PROVIDERS[entry.data[CONF_PROVIDER]].default_base_url,
            }
            errors = await self._check_same_account(entry, data)
            if not errors:
                return self.async_update_and_abort(
                    entry, data=data, reason="reconfigure_successful"
                )
        schema = vol.Schema(
            {
                vol.Required(CONF_API_KEY): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD)
                ),
                # Optional: emptied, it means the provider's own servers again.
                vol.Optional(CONF_BASE_URL): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.URL)
                ),
            }
        )
        suggested = {CONF_BASE_URL: entry.data[CONF_BASE_URL], **(user_input or {})}
        suggested.pop(CONF_API_KEY, None)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={
                "provider": PROVIDERS[entry.data[CONF_PROVIDER]].provider
            },
        )

    async def _check_same_account(
        self, entry: ConfigEntry, data: dict[str, str]
    ) -> dict[str, str]:
        """Check new account data live, and that it reaches the same account.

        The providers report no account id; an account's own voices (cloned,
        designed) are the best sign that a key belongs to the same account, so
        every listed voice of the profiles must still be offered.
        """
        if errors := await self._check_account(data):
            return errors
        offered = {voice.voice_id for voice in self._voices}
        same = all(
            subentry.data.get(CONF_VOICE) in offered
            for subentry in entry.subentries.values()
            if subentry.data.get(CONF_VOICE_LISTED)
        )
        return {} if same else {"base": "wrong_account"}


class VoiceProfileFlow(ConfigSubentryFlow):
    """Add or change a voice profile (one TTS entity) of a loaded account."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a profile."""
        return await self._profile_step("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a profile: its voice, language, settings or name."""
        return await self._profile_step("reconfigure", user_input)

    async def _profile_step(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        entry: StreamingTTSConfigEntry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        client = entry.runtime_data.client
        voices = entry.runtime_data.voices
        reconfiguring = step_id == "reconfigure"
        subentry = self._get_reconfigure_subentry() if reconfiguring else None
        errors: dict[str, str] = {}
        if user_input is not None:
            profile, errors = check_profile(client, voices, user_input)
            title = str(user_input[CONF_NAME]).strip()
            if not title and not errors:
                errors = {CONF_NAME: "name_required"}
            if not errors:
                if subentry is not None:
                    # The entry's update listener reloads it. Updated here, not by
                    # async_update_and_abort: from 2026.x its message is core's
                    # generic one unless a reason is passed, which 2025.12 lacks.
                    self.hass.config_entries.async_update_subentry(
                        entry, subentry, title=title, data=profile
                    )
                    return self.async_abort(reason="reconfigure_successful")
                return self.async_create_entry(title=title, data=profile)
        current = dict(subentry.data) if subentry else {}
        name = (
            subentry.title
            if subentry
            else default_profile_name(
                client.provider, voices, voices[0].voice_id if voices else ""
            )
        )
        schema = profile_schema(self.hass, client, voices, current, name=name)
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(
            step_id=step_id,
            data_schema=schema,
            errors=errors,
            description_placeholders=profile_placeholders(type(client)),
        )
