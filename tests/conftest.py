"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.components import tts
from homeassistant.config_entries import ConfigSubentryData
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
    CONF_VOICE_LISTED,
    DOMAIN,
    SUBENTRY_VOICE,
)
from tests.emulators import (
    EmulatorConfig,
    EmulatorServer,
    LmntEmulator,
    LmntEmulatorConfig,
)
from tests.emulators.sarvam import SarvamEmulator, SarvamEmulatorConfig
from tests.emulators.smallest import SmallestEmulator, SmallestEmulatorConfig
from tests.emulators.telnyx import TelnyxEmulator, TelnyxEmulatorConfig
from tests.scoreboard import SCOREBOARD

API_KEY = "test-key"
ENGINE = "tts.lmnt_leah"


@dataclass(frozen=True, slots=True)
class ProviderCase:
    """One provider as the Home Assistant-level tests see it."""

    provider: str
    title: str
    engine: str
    emulator: Callable[[EmulatorConfig], EmulatorServer[Any]]
    config: Callable[..., EmulatorConfig]
    voice: str
    voice_name: str
    other_voice: str
    language: str
    # What the entity returns for a request without a format hint (Home
    # Assistant converts anything else to mp3 for players).
    extension: str

    def __str__(self) -> str:
        return self.provider

    @property
    def profile_title(self) -> str:
        """Return the first profile's title, as setup names it ("LMNT Leah")."""
        return f"{self.title} {self.voice_name.partition(' (')[0]}"


CASES = {
    case.provider: case
    for case in (
        ProviderCase("lmnt", "LMNT", "tts.lmnt_leah", LmntEmulator,
                     LmntEmulatorConfig, "leah", "Leah", "elowen", "en", "mp3"),
        ProviderCase("smallest", "Smallest.ai Waves",
                     "tts.smallest_ai_waves_magnus", SmallestEmulator,
                     SmallestEmulatorConfig, "magnus", "Magnus", "sophia", "en", "s16le"),
        ProviderCase("telnyx", "Telnyx", "tts.telnyx_astra", TelnyxEmulator,
                     TelnyxEmulatorConfig, "Telnyx.NaturalHD.astra",
                     "Astra (Telnyx NaturalHD)", "Telnyx.NaturalHD.luna", "en", "mp3"),
        ProviderCase("sarvam", "Sarvam AI", "tts.sarvam_ai_shubh",
                     SarvamEmulator, SarvamEmulatorConfig, "shubh", "Shubh", "priya",
                     "en-IN", "mp3"),
    )
}  # fmt: skip


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest) -> ProviderCase:
    """Each provider in turn (tests of one provider parametrize it indirectly)."""
    return CASES[request.param]


@pytest.fixture
def api_key() -> str:
    """The key the emulators accept and the entries hold (a suite may pick another)."""
    return API_KEY


@pytest.fixture
async def emulator(
    case: ProviderCase, api_key: str, socket_enabled: None
) -> AsyncGenerator[EmulatorServer[Any]]:
    """Run the case's provider emulator on 127.0.0.1, accepting api_key."""
    async with case.emulator(case.config(api_keys={api_key})) as server:
        yield server


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
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def tts_cache_dir(tmp_path: Path) -> Generator[Path]:
    """Keep Home Assistant's TTS file cache in a temporary folder."""
    cache_dir = tmp_path / "tts"
    with patch.object(tts, "DEFAULT_CACHE_DIR", str(cache_dir)):
        yield cache_dir


@pytest.fixture
def config_entry(
    case: ProviderCase, api_key: str, emulator: EmulatorServer[Any]
) -> MockConfigEntry:
    """The case provider's account entry, pointed at its emulator, with one voice profile."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=case.title,
        version=2,
        data={
            CONF_PROVIDER: case.provider,
            CONF_API_KEY: api_key,
            CONF_BASE_URL: emulator.base_url,
        },
        subentries_data=[
            ConfigSubentryData(
                subentry_type=SUBENTRY_VOICE,
                title=case.profile_title,
                data={CONF_VOICE: case.voice, CONF_VOICE_LISTED: True,
                      CONF_LANGUAGE: case.language},
                unique_id=None,
            )
        ],
    )  # fmt: skip


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, tts_cache_dir: Path, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The entry, set up."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fault suite's figures when it ran."""
    if SCOREBOARD.used:
        terminalreporter.write_line(SCOREBOARD.line())
