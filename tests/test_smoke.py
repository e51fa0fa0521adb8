"""What the README's main command starts: the emulators and a real Home Assistant process.

One entry per provider is created through Home Assistant's config-flow REST API,
and speech is fetched the way a media player does, through /api/tts_get_url and
/api/tts_proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import signal
import socket
import sys

import aiohttp
import pytest

from tests.conftest import CASES
from tests.emulators.synth import audio_seconds
from tests.speech.helpers import decoded_seconds

ROOT = Path(__file__).parent.parent
STARTUP_SECONDS = 90


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


@dataclass
class Running:
    """The emulators' (by provider) and Home Assistant's addresses."""

    emulator_urls: dict[str, str]
    ha_url: str


@pytest.fixture
async def running(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[Running]:
    """Start every provider's emulator and Home Assistant, as scripts/develop does."""
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    template = (ROOT / "scripts" / "homeassistant_configuration.yaml").read_text()
    # The smoke test needs the API, not the web UI, and its own port.
    template = template.replace("frontend:\n", "onboarding:\n").replace(
        "8123", str(port)
    )
    (config / "configuration.yaml").write_text(template)
    (config / "custom_components").symlink_to(ROOT / "custom_components")

    emulators: dict[str, asyncio.subprocess.Process] = {}
    urls: dict[str, str] = {}
    ha = None
    try:
        for provider in CASES:
            emulators[provider] = emulator = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.emulators", provider, "--port", "0",
                "--api-key", "smoke-key", cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            assert emulator.stdout is not None
            line = (await asyncio.wait_for(emulator.stdout.readline(), 30)).decode()
            assert line.startswith("READY "), line
            urls[provider] = line.split()[1]
        log = (tmp_path / "ha.log").open("wb")
        ha = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "scripts" / "run_homeassistant.py"),
            "--config", str(config), "--skip-pip",
            cwd=ROOT, stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        ha_url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(STARTUP_SECONDS * 4):
                assert ha.returncode is None, (tmp_path / "ha.log").read_text()[-3000:]
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{ha_url}/api/onboarding") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.25)
            else:
                pytest.fail(
                    "Home Assistant did not start:\n"
                    + (tmp_path / "ha.log").read_text()[-3000:]
                )
        yield Running(urls, ha_url)
    finally:
        if ha is not None:
            await stop(ha)
        for emulator in emulators.values():
            await stop(emulator)


async def test_real_home_assistant_speaks(running: Running) -> None:
    async with aiohttp.ClientSession(base_url=running.ha_url) as http:
        client_id = f"{running.ha_url}/"
        async with http.post(
            "/api/onboarding/users",
            json={"client_id": client_id, "name": "Smoke", "username": "smoke",
                  "password": "smoke-password", "language": "en"},
        ) as response:  # fmt: skip
            assert response.status == 200, await response.text()
            code = (await response.json())["auth_code"]
        async with http.post(
            "/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client_id,
            },
        ) as response:
            token = (await response.json())["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        for case in CASES.values():
            async with http.post(
                "/api/config/config_entries/flow",
                json={"handler": "streaming_tts", "show_advanced_options": False},
                headers=auth,
            ) as response:
                flow = await response.json()
            assert flow["step_id"] == "user", flow
            steps = [
                {"provider": case.provider, "api_key": "smoke-key",
                 "advanced": {"base_url": running.emulator_urls[case.provider]}},
                {"voice": case.voice, "language": case.language},
            ]  # fmt: skip
            for step in steps:
                async with http.post(
                    f"/api/config/config_entries/flow/{flow['flow_id']}",
                    json=step,
                    headers=auth,
                ) as response:
                    flow = await response.json()
            assert flow["type"] == "create_entry", flow

            message = f"Hello from a real Home Assistant, via {case.title}."
            async with http.post(
                "/api/tts_get_url",
                json={"engine_id": case.engine, "message": message},
                headers=auth,
            ) as response:
                assert response.status == 200, await response.text()
                path = (await response.json())["path"]
            async with http.get(path) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "audio/mpeg"
                audio = await response.read()
            assert decoded_seconds(audio) == pytest.approx(
                audio_seconds(message), abs=0.15
            ), case.provider
