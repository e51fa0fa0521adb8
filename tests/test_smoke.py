"""What the README's main command starts: the emulators and a real Home Assistant process.

One entry per provider is created through Home Assistant's config-flow REST API,
and speech is fetched the way a media player and a satellite do, through
/api/tts_get_url and /api/tts_proxy. With STREAMING_TTS_HA_PYTHON (scripts/test
sets it) that Home Assistant is the newest release, from .venv-ha.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
import os
from pathlib import Path
import sys

import aiohttp
import pytest

from tests.conftest import CASES
from tests.emulators.synth import audio_seconds
from tests.real_home_assistant import ROOT, RealHomeAssistant, real_home_assistant
from tests.speech.helpers import audio_shape, decoded_seconds

HA_PYTHON = os.environ.get("STREAMING_TTS_HA_PYTHON", sys.executable)
SATELLITES = {
    "wav": {"preferred_format": "wav", "preferred_sample_rate": 16000,
            "preferred_sample_channels": 1, "preferred_sample_bytes": 2},
    "flac": {"preferred_format": "flac", "preferred_sample_rate": 48000,
             "preferred_sample_channels": 1, "preferred_sample_bytes": 2},
}  # fmt: skip


def expected_version() -> str | None:
    """The release requirements_run.txt pins, when that is the one started."""
    if "STREAMING_TTS_HA_PYTHON" not in os.environ:
        return None
    for line in (ROOT / "requirements_run.txt").read_text().splitlines():
        if line.startswith("homeassistant=="):
            return line.removeprefix("homeassistant==").strip()
    return None


@pytest.fixture
async def running(
    tmp_path: Path, socket_enabled: None
) -> AsyncGenerator[RealHomeAssistant]:
    """Every provider's emulator and Home Assistant, as scripts/develop starts them."""
    async with real_home_assistant(tmp_path, HA_PYTHON) as ha:
        yield ha


async def test_real_home_assistant_speaks(running: RealHomeAssistant) -> None:
    if (expected := expected_version()) is not None:
        assert running.version == expected
    async with aiohttp.ClientSession() as http:
        # Nothing to repair, but for the port before 2026.11 (set in YAML there).
        issues = await running.repair_issues(http)
        assert not [i for i in issues if i["domain"] == "streaming_tts"]
        assert {i["issue_id"] for i in issues if i["domain"] == "http"} <= {
            "deprecated_yaml"
        }
        for case in CASES.values():
            flow = await running.add_entry(http, case.provider)
            assert flow["type"] == "create_entry", flow

            message = f"Hello from a real Home Assistant, via {case.title}."
            path = await running.speech_path(http, case.engine, message)
            async with http.get(running.url + path) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "audio/mpeg"
                audio = await response.read()
            assert decoded_seconds(audio) == pytest.approx(
                audio_seconds(message), abs=0.15
            ), case.provider

            for container, options in SATELLITES.items():
                path = await running.speech_path(http, case.engine, message, options)
                async with http.get(running.url + path) as response:
                    assert response.status == 200
                    audio = await response.read()
                rate = int(options["preferred_sample_rate"])
                where = (case.provider, container, running.version)
                assert audio_shape(audio, container) == (rate, 1), where
                assert decoded_seconds(audio, container, rate) == pytest.approx(
                    audio_seconds(message), abs=0.15
                ), where
