"""Streaming text-to-speech for Home Assistant: LMNT, Smallest.ai Waves, Telnyx, Sarvam.

One config entry is one provider account (its API key); each voice profile
under it (a config subentry) is one TTS entity.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .compat import MOVES_DEVICES_BETWEEN_SUBENTRIES
from .const import CONF_BASE_URL, CONF_PROVIDER, DOMAIN, SUBENTRY_VOICE
from .issues import async_check_voices, async_delete_issues
from .speech import (
    PROVIDERS,
    SpeechAuthError,
    SpeechConnectionError,
    SpeechError,
    SpeechProviderError,
    SpeechRateLimitError,
    StreamingClient,
    Voice,
)

PLATFORMS = [Platform.TTS]


@dataclass(kw_only=True, slots=True)
class StreamingTTSData:
    """What a loaded entry holds: its provider client and that account's voices."""

    client: StreamingClient
    voices: list[Voice]


type StreamingTTSConfigEntry = ConfigEntry[StreamingTTSData]


def create_client(hass: HomeAssistant, data: dict[str, str]) -> StreamingClient:
    """Build the provider client for entry data, on Home Assistant's shared session."""
    return PROVIDERS[data[CONF_PROVIDER]](
        async_get_clientsession(hass),
        data[CONF_API_KEY],
        base_url=data.get(CONF_BASE_URL),
    )


async def async_setup_entry(
    hass: HomeAssistant, entry: StreamingTTSConfigEntry
) -> bool:
    """Check the key with one cheap call (the voice list), then add the entities."""
    client = create_client(hass, dict(entry.data))
    try:
        voices = await client.list_voices()
    except SpeechAuthError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="invalid_auth",
            translation_placeholders={"provider": client.provider},
        ) from err
    except (SpeechConnectionError, SpeechProviderError, SpeechRateLimitError) as err:
        # Worth retrying: the network, or the provider's own trouble, may pass.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="not_ready",
            translation_placeholders={"provider": client.provider, "message": str(err)},
        ) from err
    except SpeechError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="provider_error",
            translation_placeholders={"provider": client.provider, "message": str(err)},
        ) from err
    entry.runtime_data = StreamingTTSData(client=client, voices=voices)
    async_check_voices(hass, entry, client.provider, voices)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Any change to the entry or its voice profiles (added, changed, removed)
    # takes effect through a reload; flows therefore never reload themselves.
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    return True


async def _async_reload(hass: HomeAssistant, entry: StreamingTTSConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(
    hass: HomeAssistant, entry: StreamingTTSConfigEntry
) -> bool:
    """Remove the entities; the client owns nothing that needs closing."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove the entry's repair issues with it."""
    async_delete_issues(hass, entry)


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Version 1 kept its one voice in the options: make it the first voice profile.

    The entity and its device move to the profile, so the entity id that
    pipelines and automations use stays the same.
    """
    if entry.version > 2:
        return False  # a newer release wrote this entry
    if entry.version == 1:
        subentry = ConfigSubentry(
            data=entry.options,
            subentry_type=SUBENTRY_VOICE,
            title=entry.title,
            unique_id=None,
        )
        hass.config_entries.async_add_subentry(entry, subentry)
        entities = er.async_get(hass)
        if entity_id := entities.async_get_entity_id("tts", DOMAIN, entry.entry_id):
            entities.async_update_entity(
                entity_id,
                config_subentry_id=subentry.subentry_id,
                new_unique_id=subentry.subentry_id,
            )
        devices = dr.async_get(hass)
        # Looked up among the entry's devices: 2026.x deprecates a lookup by
        # identifier alone.
        for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
            if (DOMAIN, entry.entry_id) in device.identifiers:
                _move_device(devices, device.id, entry.entry_id, subentry.subentry_id)
        hass.config_entries.async_update_entry(entry, options={}, version=2)
    return True


def _move_device(
    devices: dr.DeviceRegistry, device_id: str, entry_id: str, subentry_id: str
) -> None:
    """Give the device to the voice profile, and the profile's identifier."""
    identifiers = {(DOMAIN, subentry_id)}
    if MOVES_DEVICES_BETWEEN_SUBENTRIES:
        devices.async_update_device(
            device_id, new_identifiers=identifiers, new_config_subentry_id=subentry_id
        )
        return
    devices.async_update_device(
        device_id,
        new_identifiers=identifiers,
        add_config_entry_id=entry_id,
        add_config_subentry_id=subentry_id,
    )
    devices.async_update_device(
        device_id, remove_config_entry_id=entry_id, remove_config_subentry_id=None
    )
