"""The config flow: every error, then recovery to a working entry, in the same flow."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.streaming_tts.const import DOMAIN
from tests.conftest import API_KEY
from tests.emulators import LmntEmulator

pytestmark = pytest.mark.usefixtures("tts_cache_dir")


async def submit_key(hass: HomeAssistant, base_url: str) -> ConfigFlowResult:
    """Start a flow and submit the working key with an API URL."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"provider": "lmnt", "api_key": API_KEY, "advanced": {"base_url": base_url}},
    )


async def test_user_flow_errors_then_success(
    hass: HomeAssistant, lmnt_emulator: LmntEmulator
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
                "provider": "lmnt",
                "api_key": api_key,
                "advanced": {"base_url": base_url},
            },
        )
        return dict(result.get("errors") or {})

    assert await submit("wrong-key", lmnt_emulator.base_url) == {"base": "invalid_auth"}
    assert await submit(API_KEY, "http://127.0.0.1:9") == {"base": "cannot_connect"}
    assert await submit(API_KEY, "http://api.example.com") == {
        "base": "invalid_base_url"
    }
    lmnt_emulator.config.rest_status_override = 500
    assert await submit(API_KEY, lmnt_emulator.base_url) == {"base": "provider_error"}
    lmnt_emulator.config.rest_status_override = None

    assert await submit(f"  {API_KEY} ", lmnt_emulator.base_url + "/") == {}
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "voice"
    voice_field = next(k for k in result["data_schema"].schema if k == "voice")
    options = result["data_schema"].schema[voice_field].config["options"]
    assert {"value": "leah", "label": "Leah"} in options
    assert result["data_schema"].schema[voice_field].config["custom_value"] is True

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"voice": "elowen", "language": "en-GB"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "LMNT"
    assert result["data"] == {
        "provider": "lmnt",
        "api_key": API_KEY,
        "base_url": lmnt_emulator.base_url,
    }
    assert result["options"] == {"voice": "elowen", "language": "en-GB"}
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("tts.lmnt_text_to_speech") is not None


async def test_base_url_by_name_and_default(
    hass: HomeAssistant, lmnt_emulator: LmntEmulator
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
        {"provider": "lmnt", "api_key": API_KEY, "base_url": lmnt_emulator.base_url},
    )
    assert result["step_id"] == "voice"


async def test_default_base_url_is_the_provider(hass: HomeAssistant) -> None:
    """Without an API URL the real host is used (unreachable here: cannot_connect)."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    flow = hass.config_entries.flow._progress[result["flow_id"]]
    seen: list[str] = []

    async def check_key(data: dict[str, str]) -> dict[str, str]:
        seen.append(data["base_url"])
        return {"base": "cannot_connect"}

    flow._check_key = check_key
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"provider": "lmnt", "api_key": API_KEY, "advanced": {}}
    )
    assert seen == ["https://api.lmnt.com"]
    assert result["errors"] == {"base": "cannot_connect"}


async def test_duplicate_account_aborts(
    hass: HomeAssistant, lmnt_emulator: LmntEmulator, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    result = await submit_key(hass, lmnt_emulator.base_url)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_voice_list_empty_still_allows_typing(
    hass: HomeAssistant, lmnt_emulator: LmntEmulator
) -> None:
    """No listed voice: a typed id works; the language falls back to English."""
    hass.config.language = "tlh"
    lmnt_emulator.config.voices = []
    result = await submit_key(hass, lmnt_emulator.base_url)
    assert result["step_id"] == "voice"
    language_field = next(k for k in result["data_schema"].schema if k == "language")
    assert language_field.default() == "en"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"voice": " my-clone ", "language": "en"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"]["voice"] == "my-clone"


async def test_reauth(
    hass: HomeAssistant, lmnt_emulator: LmntEmulator, loaded_entry: MockConfigEntry
) -> None:
    lmnt_emulator.config.api_keys = {"new-key"}
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"api_key": API_KEY}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"api_key": "new-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
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
    lmnt_emulator: LmntEmulator,
    config_entry: MockConfigEntry,
    failure: str,
    state: ConfigEntryState,
) -> None:
    """Set-up checks the key: auth -> reauth; refused -> error; outages -> retry."""
    config_entry.add_to_hass(hass)
    if failure == "auth":
        lmnt_emulator.config.api_keys = set()
    elif failure == "refused":
        lmnt_emulator.config.rest_status_override = 400
    elif failure == "provider":
        lmnt_emulator.config.rest_status_override = 503
    else:
        await lmnt_emulator.stop()
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
