"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from unittest.mock import patch

from homeassistant.components import tts
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

# Imported before the hass fixture exists, so that Home Assistant finds this
# repository's custom_components package instead of mounting its own.
from custom_components.streaming_tts.const import (
    CONF_BASE_URL,
    CONF_LANGUAGE,
    CONF_PROVIDER,
    CONF_VOICE,
    DOMAIN,
)
from tests.emulators import LmntEmulator, LmntEmulatorConfig

API_KEY = "test-key"
ENGINE = "tts.lmnt_text_to_speech"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load the integration from custom_components/.

    Only tests that run a Home Assistant instance need it; the library and
    emulator tests stay free of one.
    """
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
async def lmnt_emulator(socket_enabled: None) -> AsyncGenerator[LmntEmulator]:
    """Run an LMNT emulator on 127.0.0.1 that accepts API_KEY."""
    async with LmntEmulator(LmntEmulatorConfig(api_keys={API_KEY})) as emulator:
        yield emulator


@pytest.fixture
def tts_cache_dir(tmp_path: Path) -> Generator[Path]:
    """Keep Home Assistant's TTS file cache in a temporary folder."""
    cache_dir = tmp_path / "tts"
    with patch.object(tts, "DEFAULT_CACHE_DIR", str(cache_dir)):
        yield cache_dir


@pytest.fixture
def config_entry(lmnt_emulator: LmntEmulator) -> MockConfigEntry:
    """An LMNT account entry pointed at the emulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="LMNT",
        data={
            CONF_PROVIDER: "lmnt",
            CONF_API_KEY: API_KEY,
            CONF_BASE_URL: lmnt_emulator.base_url,
        },
        options={CONF_VOICE: "leah", CONF_LANGUAGE: "en"},
    )


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, tts_cache_dir: Path, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The entry, set up."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry
