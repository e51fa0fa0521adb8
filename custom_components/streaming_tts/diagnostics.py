"""Diagnostics download: the entry, its voice profiles and the client, key redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from . import StreamingTTSConfigEntry

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: StreamingTTSConfigEntry
) -> dict[str, Any]:
    """Return what helps to understand a problem, without the API key."""
    data = entry.runtime_data
    client = data.client
    return {
        "entry": async_redact_data(
            {"title": entry.title, "version": entry.version, "data": dict(entry.data)},
            TO_REDACT,
        ),
        "voice_profiles": [
            {
                "title": subentry.title,
                "type": subentry.subentry_type,
                "data": dict(subentry.data),
            }
            for subentry in entry.subentries.values()
        ],
        "client": {
            "provider": client.provider,
            "base_url": client.base_url,
            "deadlines": asdict(client.deadlines),
            "flush_policy": asdict(client.flush_policy),
        },
        "voices": {
            "count": len(data.voices),
            "ids": sorted(voice.voice_id for voice in data.voices)[:200],
        },
    }
