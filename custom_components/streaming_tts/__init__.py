"""Streaming text-to-speech for Home Assistant: LMNT, Smallest.ai Waves, Telnyx, Sarvam."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import CONF_BASE_URL, CONF_PROVIDER, DOMAIN
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
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(
    hass: HomeAssistant, entry: StreamingTTSConfigEntry
) -> bool:
    """Remove the entities; the client owns nothing that needs closing."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
