"""Voice profiles (config subentries) and changing the account later (reconfigure)."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.streaming_tts import config_flow
from custom_components.streaming_tts.config_flow import check_profile
from custom_components.streaming_tts.const import DOMAIN
from custom_components.streaming_tts.speech import PROVIDERS, SpeechRequestError
from tests.conftest import API_KEY, ProviderCase
from tests.emulators import EmulatorServer, LmntEmulator

pytestmark = pytest.mark.usefixtures("tts_cache_dir")


async def start_profile_flow(
    hass: HomeAssistant, entry: MockConfigEntry, subentry: ConfigSubentry | None = None
) -> dict[str, Any]:
    """Open the add (or, given a profile, the reconfigure) voice-profile form."""
    if subentry is None:
        return dict(
            await hass.config_entries.subentries.async_init(
                (entry.entry_id, "voice"), context={"source": "user"}
            )
        )
    return dict(
        await hass.config_entries.subentries.async_init(
            (entry.entry_id, "voice"),
            context={"source": "reconfigure", "subentry_id": subentry.subentry_id},
        )
    )


async def test_add_change_and_remove_a_profile(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """Each profile is an entity of its own; changes reload the account once."""
    result = await start_profile_flow(hass, loaded_entry)
    assert result["step_id"] == "user"
    name_field = next(k for k in result["data_schema"].schema if k == "name")
    assert name_field.default().startswith(case.title)

    result = dict(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {"name": "  ", "voice": case.other_voice, "language": case.language},
        )
    )
    assert result["errors"] == {"name": "name_required"}
    result = dict(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {"name": "Bedtime", "voice": case.other_voice, "language": case.language},
        )
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(case.engine) is not None
    assert hass.states.get("tts.bedtime") is not None
    profile = next(s for s in loaded_entry.subentries.values() if s.title == "Bedtime")
    entity = er.async_get(hass).async_get("tts.bedtime")
    assert entity is not None
    assert entity.unique_id == profile.subentry_id
    assert entity.config_subentry_id == profile.subentry_id
    device = dr.async_get(hass).async_get(entity.device_id or "")
    assert device is not None
    assert device.name == "Bedtime"
    assert device.entry_type is dr.DeviceEntryType.SERVICE

    result = await start_profile_flow(hass, loaded_entry, profile)
    assert result["step_id"] == "reconfigure"
    voice_field = next(k for k in result["data_schema"].schema if k == "voice")
    assert voice_field.default() == case.other_voice
    result = dict(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {"name": "Bedtime", "voice": case.voice, "language": case.language},
        )
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert result.get("translation_domain") is None  # this integration's message
    await hass.async_block_till_done()
    assert loaded_entry.subentries[profile.subentry_id].data["voice"] == case.voice
    state = hass.states.get("tts.bedtime")
    assert state is not None

    assert hass.config_entries.async_remove_subentry(loaded_entry, profile.subentry_id)
    await hass.async_block_till_done()
    assert hass.states.get("tts.bedtime") is None
    assert er.async_get(hass).async_get("tts.bedtime") is None
    assert dr.async_get(hass).async_get(device.id) is None
    assert hass.states.get(case.engine) is not None


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
async def test_profile_settings_are_checked(
    hass: HomeAssistant, case: ProviderCase, loaded_entry: MockConfigEntry
) -> None:
    result = await start_profile_flow(hass, loaded_entry)
    result = dict(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                "name": "Old",
                "voice": "anushka",
                "language": "hi-IN",
                "model": "bulbul:v3",
            },
        )
    )
    assert result["errors"] == {"voice": "voice_not_for_model"}
    result = dict(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {"name": "Old", "voice": "anushka", "language": "hi-IN", "model": "bulbul:v2",
             "pitch": 0.5},
        )
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    state = hass.states.get("tts.old")
    assert state is not None


@pytest.mark.parametrize("case", ["lmnt"], indirect=True)
async def test_profiles_need_a_loaded_account(
    hass: HomeAssistant,
    case: ProviderCase,
    emulator: EmulatorServer[Any],
    config_entry: MockConfigEntry,
) -> None:
    """Without a loaded account there is no voice list: say so instead of guessing."""
    emulator.config.api_keys = set()
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    result = await start_profile_flow(hass, config_entry)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


async def test_reconfigure_the_account(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """Change the API URL in place: a wrong one is refused, the entry keeps working."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    async def submit(base_url: str, api_key: str = API_KEY) -> dict[str, Any]:
        return dict(
            await hass.config_entries.flow.async_configure(
                result["flow_id"], {"api_key": api_key, "base_url": base_url}
            )
        )

    assert (await submit("http://api.example.com"))["errors"] == {
        "base": "invalid_base_url"
    }
    assert (await submit("http://127.0.0.1:9"))["errors"] == {"base": "cannot_connect"}
    assert (await submit(emulator.base_url, "wrong"))["errors"] == {
        "base": "invalid_auth"
    }
    # An emptied API URL means the provider's own servers (not reachable here).
    tried: list[dict[str, str]] = []

    async def unreachable(
        hass: HomeAssistant, data: dict[str, str]
    ) -> tuple[list[Any], dict[str, str]]:
        tried.append(data)
        return [], {"base": "cannot_connect"}

    with patch.object(config_flow, "fetch_voices", unreachable):
        emptied = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"api_key": API_KEY}
        )
    assert emptied["errors"] == {"base": "cannot_connect"}
    assert tried[0]["base_url"] == PROVIDERS[case.provider].default_base_url
    done = await submit(emulator.base_url + "/")
    assert done["type"] is FlowResultType.ABORT
    assert done["reason"] == "reconfigure_successful"
    assert done.get("translation_domain") is None  # this integration's message
    await hass.async_block_till_done()
    assert loaded_entry.data["base_url"] == emulator.base_url
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(case.engine) is not None


@pytest.mark.parametrize("case", ["lmnt"], indirect=True)
async def test_unload_and_reload(
    hass: HomeAssistant, case: ProviderCase, loaded_entry: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    state = hass.states.get(case.engine)
    assert state is not None
    assert state.state == "unavailable"
    assert DOMAIN not in {
        flow["handler"] for flow in hass.config_entries.flow.async_progress()
    }


@pytest.mark.parametrize("case", ["sarvam"], indirect=True)
async def test_profile_check_refuses_what_forms_cannot_send(
    hass: HomeAssistant, case: ProviderCase, loaded_entry: MockConfigEntry
) -> None:
    """Forms validate ranges themselves; the check still refuses bad values directly."""
    client = loaded_entry.runtime_data.client
    voices = loaded_entry.runtime_data.voices
    profile = {"voice": "shubh", "language": "hi-IN"}
    assert check_profile(client, voices, {**profile, "speed": 9})[1] == {
        "speed": "invalid_option"
    }
    refused = SpeechRequestError("no", provider="Sarvam")
    with patch.object(client, "check_options", side_effect=refused):
        assert check_profile(client, voices, profile)[1] == {"base": "invalid_option"}
    data, errors = check_profile(client, voices, profile)
    assert not errors
    assert data == {"voice": "shubh", "voice_listed": True, "language": "hi-IN"}


@pytest.mark.parametrize("case", ["lmnt"], indirect=True)
async def test_reconfigure_refuses_another_account(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: LmntEmulator,
) -> None:
    emulator.config.voices = [
        v for v in emulator.config.voices if v["id"] != case.voice
    ]
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"api_key": API_KEY, "base_url": emulator.base_url}
    )
    assert result["errors"] == {"base": "wrong_account"}
