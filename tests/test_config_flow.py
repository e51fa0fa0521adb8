"""The config flow: every error, then recovery to a working entry, in the same flow.

Tests that take the ``case`` fixture run once per provider.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
from homeassistant.util import slugify
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.streaming_tts import config_flow
from custom_components.streaming_tts.const import DOMAIN
from custom_components.streaming_tts.speech import PROVIDERS, Voice
from tests.conftest import API_KEY, ProviderCase
from tests.emulators import EmulatorServer, LmntEmulator

pytestmark = pytest.mark.usefixtures("tts_cache_dir")


LMNT_ONLY = pytest.mark.parametrize("case", ["lmnt"], indirect=True)


async def submit_key(
    hass: HomeAssistant, base_url: str, provider: str = "lmnt"
) -> ConfigFlowResult:
    """Start a flow and submit the working key with an API URL."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"provider": provider, "api_key": API_KEY, "advanced": {"base_url": base_url}},
    )


def settings_defaults(provider: str) -> dict[str, Any]:
    """Return a provider's settings at their defaults, as an entry stores them."""
    return {option.key: option.default for option in PROVIDERS[provider].options}


async def test_user_flow_errors_then_success(
    hass: HomeAssistant, case: ProviderCase, emulator: EmulatorServer[Any]
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    async def submit(api_key: str, base_url: str) -> dict[str, str]:
        nonlocal result
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                "provider": case.provider,
                "api_key": api_key,
                "advanced": {"base_url": base_url},
            },
        )
        return dict(result.get("errors") or {})

    assert await submit("wrong-key", emulator.base_url) == {"base": "invalid_auth"}
    assert await submit(API_KEY, "http://127.0.0.1:9") == {"base": "cannot_connect"}
    assert await submit(API_KEY, "http://api.example.com") == {
        "base": "invalid_base_url"
    }
    emulator.config.rest_status_override = 500
    assert await submit(API_KEY, emulator.base_url) == {"base": "provider_error"}
    # A refused request that is not a missing page is the provider's to explain.
    emulator.config.rest_status_override = 400
    assert await submit(API_KEY, emulator.base_url) == {"base": "provider_error"}
    emulator.config.rest_status_override = None
    # Something answers there, but not this provider's API: the form says so.
    assert await submit(API_KEY, emulator.base_url + "/elsewhere") == {
        "base": "api_url_not_found"
    }
    hint = result["description_placeholders"]["default_urls"]
    for client in PROVIDERS.values():
        assert f"{client.provider} {client.default_base_url}" in hint

    assert await submit(f"  {API_KEY} ", emulator.base_url + "/") == {}
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "voice"
    voice_field = next(k for k in result["data_schema"].schema if k == "voice")
    options = result["data_schema"].schema[voice_field].config["options"]
    offered = {option["value"]: option["label"] for option in options}
    assert offered[case.voice].startswith(case.voice_name)
    assert case.other_voice in offered
    assert result["data_schema"].schema[voice_field].config["custom_value"] is True
    settings = settings_defaults(case.provider)
    assert {str(key) for key in result["data_schema"].schema} == {
        "voice",
        "language",
        *settings,
    }

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"voice": case.other_voice, "language": case.language}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == case.title
    assert result["data"] == {
        "provider": case.provider,
        "api_key": API_KEY,
        "base_url": emulator.base_url,
    }
    entry = result["result"]
    assert entry.version == 2
    assert entry.options == {}
    (profile,) = entry.subentries.values()
    assert profile.subentry_type == "voice"
    # Named after provider and voice, so account, profile and tile differ.
    other_name = offered[case.other_voice].split(" (")[0].split(" · ")[0]
    assert profile.title == f"{case.title} {other_name}"
    assert profile.data == {
        "voice": case.other_voice,
        "voice_listed": True,
        "language": case.language,
        **settings,
    }
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    (entity,) = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert entity.config_subentry_id == profile.subentry_id
    state = hass.states.get(entity.entity_id)
    assert state is not None
    assert state.attributes["friendly_name"] == profile.title
    assert entity.entity_id == f"tts.{slugify(profile.title)}"


@LMNT_ONLY
async def test_base_url_by_name_and_default(
    hass: HomeAssistant, emulator: LmntEmulator
) -> None:
    """API clients may fill base_url at the top level; unknown keys are refused."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {"provider": "lmnt", "api_key": API_KEY, "colour": "red"}
        )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"provider": "lmnt", "api_key": API_KEY, "base_url": emulator.base_url},
    )
    assert result["step_id"] == "voice"


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("lmnt", "https://api.lmnt.com"),
        ("smallest", "https://api.smallest.ai"),
        ("telnyx", "https://api.telnyx.com"),
        ("sarvam", "https://api.sarvam.ai"),
    ],
)
async def test_default_base_url_is_the_provider(
    hass: HomeAssistant, provider: str, url: str
) -> None:
    """Without an API URL the real host is used (unreachable here: cannot_connect)."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    flow = hass.config_entries.flow._progress[result["flow_id"]]
    seen: list[str] = []

    async def check_account(data: dict[str, str]) -> dict[str, str]:
        seen.append(data["base_url"])
        return {"base": "cannot_connect"}

    flow._check_account = check_account
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"provider": provider, "api_key": API_KEY, "advanced": {}}
    )
    assert seen == [url]
    assert result["errors"] == {"base": "cannot_connect"}


async def test_duplicate_account_aborts(
    hass: HomeAssistant,
    case: ProviderCase,
    emulator: EmulatorServer[Any],
    config_entry: MockConfigEntry,
) -> None:
    config_entry.add_to_hass(hass)
    result = await submit_key(hass, emulator.base_url, case.provider)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@LMNT_ONLY
async def test_voice_list_empty_still_allows_typing(
    hass: HomeAssistant, emulator: LmntEmulator
) -> None:
    """No listed voice: a typed id works; the language falls back to English."""
    hass.config.language = "tlh"
    emulator.config.voices = []
    result = await submit_key(hass, emulator.base_url)
    assert result["step_id"] == "voice"
    language_field = next(k for k in result["data_schema"].schema if k == "language")
    assert language_field.default() == "en"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"voice": " my-clone ", "language": "en"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (profile,) = result["result"].subentries.values()
    assert profile.data["voice"] == "my-clone"
    assert profile.data["voice_listed"] is False


async def test_reauth(
    hass: HomeAssistant,
    case: ProviderCase,
    emulator: EmulatorServer[Any],
    loaded_entry: MockConfigEntry,
) -> None:
    """A new key: refused, then another account's (without the profile's voice), then right."""
    emulator.config.api_keys = {"new-key"}
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"api_key": API_KEY}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    if case.provider != "sarvam":  # Sarvam's built-in speakers are in every account
        voices = list(emulator.config.voices)
        emulator.config.voices = [
            v
            for v in voices
            if case.voice not in (v.get("id"), v.get("voiceId"), v.get("voice_id"))
        ]
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"api_key": "new-key"}
        )
        assert result["errors"] == {"base": "wrong_account"}
        emulator.config.voices = voices
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"api_key": "new-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert result.get("translation_domain") is None  # this integration's message
    assert loaded_entry.data["api_key"] == "new-key"
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("failure", "state"),
    [
        ("auth", ConfigEntryState.SETUP_ERROR),
        ("refused", ConfigEntryState.SETUP_ERROR),
        ("provider", ConfigEntryState.SETUP_RETRY),
        ("network", ConfigEntryState.SETUP_RETRY),
    ],
)
async def test_setup_failures(
    hass: HomeAssistant,
    emulator: EmulatorServer[Any],
    config_entry: MockConfigEntry,
    failure: str,
    state: ConfigEntryState,
) -> None:
    """Set-up checks the key: auth -> reauth; refused -> error; outages -> retry."""
    config_entry.add_to_hass(hass)
    if failure == "auth":
        emulator.config.api_keys = set()
    elif failure == "refused":
        emulator.config.rest_status_override = 400
    elif failure == "provider":
        emulator.config.rest_status_override = 503
    else:
        await emulator.stop()
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is state
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == (
        ["reauth"] if failure == "auth" else []
    )


async def test_unload(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
async def test_provider_settings_errors_then_success(
    hass: HomeAssistant, case: ProviderCase, emulator: EmulatorServer[Any]
) -> None:
    """The voice step validates the provider's own settings and stores them typed."""
    result = await submit_key(hass, emulator.base_url, "smallest")
    model_field = next(k for k in result["data_schema"].schema if k == "model")
    labels = [
        o["label"] for o in result["data_schema"].schema[model_field].config["options"]
    ]
    assert labels == ["Lightning v3.1", "Lightning v3.1 Pro"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"voice": "  ", "language": "en", "model": "lightning_v3.1_pro"},
    )
    assert result["errors"] == {"voice": "voice_required"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"voice": "meher", "language": "hi", "model": "lightning_v3.1_pro",
         "speed": 1.25, "sample_rate": "44100"},
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (profile,) = result["result"].subentries.values()
    assert profile.data == {
        "voice": "meher",
        "voice_listed": True,
        "language": "hi",
        "model": "lightning_v3.1_pro",
        "speed": 1.25,
        "sample_rate": 44100,
    }


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
async def test_sarvam_voice_must_fit_the_model(
    hass: HomeAssistant, case: ProviderCase, emulator: EmulatorServer[Any]
) -> None:
    result = await submit_key(hass, emulator.base_url, "sarvam")
    voice_field = next(k for k in result["data_schema"].schema if k == "voice")
    offered = {
        o["value"]: o["label"]
        for o in result["data_schema"].schema[voice_field].config["options"]
    }
    assert offered["anushka"] == "Anushka · Bulbul v2"
    assert offered["vc_5f2a9c7e41d84b0c"] == "Meera Studio · hi-IN"  # cloned: any model
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"voice": "anushka", "language": "hi-IN", "model": "bulbul:v3"},
    )
    assert result["errors"] == {"voice": "voice_not_for_model"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"voice": "anushka", "language": "hi-IN", "model": "bulbul:v2",
         "pitch": 0.25, "loudness": 1.5},
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (profile,) = result["result"].subentries.values()
    assert profile.data["model"] == "bulbul:v2"
    assert profile.data["pitch"] == 0.25


@pytest.mark.parametrize("case", ["telnyx"], indirect=True)
async def test_telnyx_voice_step_says_what_the_voice_decides(
    hass: HomeAssistant, case: ProviderCase, emulator: EmulatorServer[Any]
) -> None:
    """Labels name family and language; the language starts from the voice; a
    speed is refused for a voice that ignores it."""
    hass.config.language = "de"
    result = await submit_key(hass, emulator.base_url, "telnyx")
    schema = result["data_schema"].schema
    voice_field = next(k for k in schema if k == "voice")
    options = schema[voice_field].config["options"]
    labels = {o["value"]: o["label"] for o in options}
    assert labels["AWS.Polly.Danielle-Neural"] == "Danielle (Amazon Polly) · en-US"
    assert labels["azure.de-DE-ConradNeural"] == "Conrad (Azure) · de-DE"
    assert labels["Telnyx.NaturalHD.albion"] == "Albion (Telnyx NaturalHD) · en-GB"
    # The default voice takes a speed; the language is the one it speaks.
    assert voice_field.default() == options[0]["value"]
    assert options[0]["value"].startswith("Telnyx.Natural")
    language_field = next(k for k in schema if k == "language")
    assert language_field.default() == "en-US"
    assert result["description_placeholders"]["speed_voices"] == (
        "Telnyx Natural, Telnyx NaturalHD"
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"voice": "AWS.Polly.Danielle-Neural", "language": "en", "speed": 1.5},
    )
    assert result["errors"] == {"speed": "setting_not_for_voice"}
    # A voice typed by hand is not known to ignore it.
    client = PROVIDERS["telnyx"]
    settings = client.parse_settings({"speed": 1.5})
    assert (
        config_flow.ignored_setting(client, [], "AWS.Polly.Joanna-Neural", settings)
        is None
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"voice": "AWS.Polly.Danielle-Neural", "language": "en", "speed": 1.0},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].subentries[
        next(iter(result["result"].subentries))
    ].title == ("Telnyx Danielle")


def test_the_language_a_voice_speaks_as_the_form_offers_it() -> None:
    """A regional code falls back to its base; one the form lacks gives no default."""
    voices = [
        Voice("v", "V", languages=("pt-BR",)),
        Voice("m", "M", languages=("en", "de")),
    ]
    assert config_flow.voice_language(voices, "v", ["pt-BR", "pt"]) == "pt-BR"
    assert config_flow.voice_language(voices, "v", ["en", "pt"]) == "pt"
    assert config_flow.voice_language(voices, "v", ["en"]) is None
    assert (
        config_flow.voice_language(voices, "m", ["en", "de"]) is None
    )  # two languages
    assert config_flow.voice_language(voices, "typed-id", ["en"]) is None
