"""What the user is told or asked to do: reauth, repairs, diagnostics; and migration."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components import tts
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.streaming_tts.compat import MOVES_DEVICES_BETWEEN_SUBENTRIES
from custom_components.streaming_tts.const import DOMAIN
from custom_components.streaming_tts.diagnostics import (
    async_get_config_entry_diagnostics,
)
from tests.conftest import API_KEY, ProviderCase
from tests.emulators import EmulatorServer, LmntEmulator
from tests.speech.helpers import collect

pytestmark = pytest.mark.usefixtures("tts_cache_dir")

LMNT_ONLY = pytest.mark.parametrize("case", ["lmnt"], indirect=True)


async def one(text: str) -> Any:
    """A text stream of one chunk."""
    yield text


async def speak(hass: HomeAssistant, engine: str, text: str = "Hello.") -> bytes:
    """Speak through Home Assistant's stream; return the audio."""
    stream = tts.async_create_stream(hass, engine, None)
    stream.async_set_message_stream(one(text))
    return (await collect(stream.async_stream_result())).audio


async def test_key_refused_during_speech_starts_reauth(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    emulator.config.api_keys = {"another-key"}
    with pytest.raises(HomeAssistantError):
        await speak(hass, case.engine)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert flows[0]["context"]["entry_id"] == loaded_entry.entry_id


@LMNT_ONLY
async def test_out_of_credits_is_a_repair_until_speech_works(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: LmntEmulator,
) -> None:
    issues = ir.async_get(hass)
    issue_id = f"quota_exceeded_{loaded_entry.entry_id}"
    emulator.config.reject_with = ("payment_required_error", "Out of characters")
    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, case.engine)
    assert err.value.translation_key == "quota_exceeded"
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "quota_exceeded"
    assert issue.translation_placeholders == {"provider": "LMNT", "title": "LMNT"}

    emulator.config.reject_with = None
    assert await speak(hass, case.engine)
    assert issues.async_get_issue(DOMAIN, issue_id) is None


@LMNT_ONLY
async def test_a_voice_that_disappears_is_a_repair(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: LmntEmulator,
) -> None:
    """Only listed voices are watched; the issue goes with the fix or the profile."""
    issues = ir.async_get(hass)
    (profile,) = loaded_entry.subentries.values()
    issue_id = f"voice_missing_{profile.subentry_id}"
    voices = emulator.config.voices
    emulator.config.voices = [v for v in voices if v["id"] != case.voice]
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "voice_missing"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["voice"] == case.voice

    emulator.config.voices = voices
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    assert issues.async_get_issue(DOMAIN, issue_id) is None

    emulator.config.voices = [v for v in voices if v["id"] != case.voice]
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    hass.config_entries.async_remove_subentry(loaded_entry, profile.subentry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None

    # A typed voice id that was never listed is not watched.
    typed = MockConfigEntry(
        domain=DOMAIN,
        title="Typed",
        version=2,
        data=dict(loaded_entry.data) | {CONF_API_KEY: API_KEY},
        subentries_data=[
            {"subentry_type": "voice", "title": "Typed", "unique_id": None,
             "data": {"voice": "not-listed", "voice_listed": False, "language": "en"}}
        ],
    )  # fmt: skip
    typed.add_to_hass(hass)
    assert await hass.config_entries.async_setup(typed.entry_id)
    assert not [i for (d, i) in issues.issues if d == DOMAIN]


@LMNT_ONLY
async def test_removing_the_entry_removes_its_issues(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: LmntEmulator,
) -> None:
    emulator.config.reject_with = ("payment_required_error", "Out of characters")
    with pytest.raises(HomeAssistantError):
        await speak(hass, case.engine)
    assert [i for (d, i) in ir.async_get(hass).issues if d == DOMAIN]
    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    assert not [i for (d, i) in ir.async_get(hass).issues if d == DOMAIN]


async def test_diagnostics_never_contain_the_key(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    diagnostics = await async_get_config_entry_diagnostics(hass, loaded_entry)
    assert diagnostics["entry"]["data"][CONF_API_KEY] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["provider"] == case.provider
    assert diagnostics["voice_profiles"][0]["data"]["voice"] == case.voice
    assert (
        diagnostics["client"]["provider"] == loaded_entry.runtime_data.client.provider
    )
    assert diagnostics["voices"]["count"] == len(loaded_entry.runtime_data.voices)
    assert API_KEY not in json.dumps(diagnostics)


@LMNT_ONLY
async def test_version_1_entry_is_migrated_and_keeps_its_entity_id(
    hass: HomeAssistant, case: ProviderCase, emulator: LmntEmulator
) -> None:
    """The one voice in the options becomes the first profile; the entity id stays."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="LMNT",
        version=1,
        data={"provider": "lmnt", "api_key": API_KEY, "base_url": emulator.base_url},
        options={"voice": "elowen", "language": "en"},
    )
    entry.add_to_hass(hass)
    devices = dr.async_get(hass)
    device = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, entry.entry_id)}
    )
    entities = er.async_get(hass)
    entities.async_get_or_create(
        "tts",
        DOMAIN,
        entry.entry_id,
        config_entry=entry,
        device_id=device.id,
        suggested_object_id="lmnt_text_to_speech",
    )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.version == 2
    assert entry.options == {}
    (profile,) = entry.subentries.values()
    assert profile.data == {"voice": "elowen", "language": "en"}
    moved = entities.async_get("tts.lmnt_text_to_speech")
    assert moved is not None
    assert moved.unique_id == profile.subentry_id
    assert moved.config_subentry_id == profile.subentry_id
    state = hass.states.get("tts.lmnt_text_to_speech")
    assert state is not None
    assert state.attributes.get("friendly_name") == profile.title == "LMNT"
    moved_device = devices.async_get(device.id)
    assert moved_device is not None
    assert moved_device.identifiers == {(DOMAIN, profile.subentry_id)}
    if MOVES_DEVICES_BETWEEN_SUBENTRIES:  # 2026.x: one entry, one subentry
        assert moved_device.config_entry_id == entry.entry_id
        assert moved_device.config_subentry_id == profile.subentry_id
    else:
        assert moved_device.config_entries_subentries == {
            entry.entry_id: {profile.subentry_id}
        }


@LMNT_ONLY
async def test_entries_of_a_newer_release_are_not_touched(
    hass: HomeAssistant, case: ProviderCase, emulator: LmntEmulator
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=3,
        data={"provider": "lmnt", "api_key": API_KEY, "base_url": emulator.base_url},
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
