"""A real Home Assistant process with this integration, and the provider emulators.

What scripts/develop starts, for the smoke test and the satellite benchmark:
every provider's emulator in its own process, Home Assistant started by
scripts/run_homeassistant.py on a given interpreter, onboarded over its REST
API, and one entry per provider made through the config-flow REST API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import signal
import socket
import sys

import aiohttp

from tests.conftest import CASES

ROOT = Path(__file__).parent.parent
STARTUP_SECONDS = 90
HTTP_PORT = "http:\n  server_port: {port}\n"
# The http store of Home Assistant 2026.11 and later, made by its own schema:
# a port set there raises no repair and asks no browser to confirm it.
HTTP_STORE = """\
import json, sys
from homeassistant.components.http.config import HTTP_STORAGE_SCHEMA, STORAGE_VERSION
conf = {**HTTP_STORAGE_SCHEMA({"server_port": int(sys.argv[1])}),
        "created_at": "2026-01-01T00:00:00+00:00", "error": None, "error_message": None}
print(json.dumps({"version": STORAGE_VERSION, "minor_version": 1, "key": "http",
                  "data": {"stable": conf, "pending": None, "yaml_migration_done": True}},
                 default=str))
"""
API_KEY = "smoke-key"


class StartError(RuntimeError):
    """Home Assistant or an emulator did not start."""


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
class RealHomeAssistant:
    """A started Home Assistant: its address, an owner's token, its version."""

    url: str
    emulator_urls: dict[str, str]
    log: Path
    auth: dict[str, str] = field(default_factory=dict)
    version: str = ""

    async def onboard(self, http: aiohttp.ClientSession) -> None:
        """Create the owner; keep a token for the API."""
        client_id = f"{self.url}/"
        async with http.post(
            f"{self.url}/api/onboarding/users",
            json={"client_id": client_id, "name": "Smoke", "username": "smoke",
                  "password": "smoke-password", "language": "en"},
        ) as response:  # fmt: skip
            if response.status != 200:
                raise StartError(await response.text())
            code = (await response.json())["auth_code"]
        async with http.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": code,
                  "client_id": client_id},
        ) as response:  # fmt: skip
            token = (await response.json())["access_token"]
        self.auth = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{self.url}/api/config", headers=self.auth) as response:
            self.version = (await response.json())["version"]

    async def repair_issues(self, http: aiohttp.ClientSession) -> list[dict]:
        """Return the open repair issues (a websocket command only)."""
        async with http.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            token = self.auth["Authorization"].removeprefix("Bearer ")
            await ws.send_json({"type": "auth", "access_token": token})
            await ws.receive_json()  # auth_ok
            await ws.send_json({"id": 1, "type": "repairs/list_issues"})
            answer = await ws.receive_json()
        return list(answer["result"]["issues"])

    async def add_entry(self, http: aiohttp.ClientSession, provider: str) -> dict:
        """Add the provider through the config flow; return the flow's last answer."""
        case = CASES[provider]
        async with http.post(
            f"{self.url}/api/config/config_entries/flow",
            json={"handler": "streaming_tts", "show_advanced_options": False},
            headers=self.auth,
        ) as response:
            flow = await response.json()
        if flow.get("step_id") != "user":
            return dict(flow)
        steps = [
            {"provider": provider, "api_key": API_KEY,
             "advanced": {"base_url": self.emulator_urls[provider]}},
            {"voice": case.voice, "language": case.language},
        ]  # fmt: skip
        for step in steps:
            async with http.post(
                f"{self.url}/api/config/config_entries/flow/{flow['flow_id']}",
                json=step,
                headers=self.auth,
            ) as response:
                flow = await response.json()
        return dict(flow)

    async def speech_path(
        self,
        http: aiohttp.ClientSession,
        engine: str,
        message: str,
        options: dict[str, str | int] | None = None,
    ) -> str:
        """Ask for a message's URL, as the frontend and automations do."""
        async with http.post(
            f"{self.url}/api/tts_get_url",
            json={"engine_id": engine, "message": message, "options": options or {}},
            headers=self.auth,
        ) as response:
            if response.status != 200:
                raise StartError(await response.text())
            return str((await response.json())["path"])


async def http_store(python: str, port: int) -> str | None:
    """Return the http store that sets ``port``, or None where it is set in YAML."""
    process = await asyncio.create_subprocess_exec(
        python, "-c", HTTP_STORE, str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return out.decode() if process.returncode == 0 else None


async def write_config(config: Path, python: str, port: int, *, web_ui: bool) -> None:
    """Write the development configuration for ``port``, with this integration."""
    config.mkdir()
    template = (ROOT / "scripts" / "homeassistant_configuration.yaml").read_text()
    template = template.replace("8123", str(port))
    # A port of its own: in the http store where there is one (2026.11), in
    # YAML before it (which 2026.11 would move to the store, with a repair and
    # a dialog asking the browser to confirm).
    if (store := await http_store(python, port)) is not None:
        (config / ".storage").mkdir()
        (config / ".storage" / "http").write_text(store)
    else:
        template += HTTP_PORT.format(port=port)
    # The API without the web UI unless a browser comes.
    if not web_ui:
        template = template.replace("frontend:\n", "onboarding:\n")
    (config / "configuration.yaml").write_text(template)
    (config / "custom_components").symlink_to(ROOT / "custom_components")


@contextlib.asynccontextmanager
async def real_home_assistant(
    workdir: Path,
    python: str,
    providers: Sequence[str] = tuple(CASES),
    emulator_args: Sequence[str] = (),
    *,
    web_ui: bool = False,
) -> AsyncIterator[RealHomeAssistant]:
    """Start the emulators and Home Assistant on ``python``; onboard it.

    With ``web_ui``, the frontend is served and onboarding is left to a browser.
    """
    config = workdir / "config"
    port = free_port()
    await write_config(config, python, port, web_ui=web_ui)
    log = workdir / "ha.log"
    processes: list[asyncio.subprocess.Process] = []
    try:
        urls: dict[str, str] = {}
        for provider in providers:
            emulator = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.emulators", provider, "--port", "0",
                "--api-key", API_KEY, *emulator_args,
                cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            processes.append(emulator)
            if emulator.stdout is None:
                raise StartError("no pipe to the emulator")
            line = (await asyncio.wait_for(emulator.stdout.readline(), 30)).decode()
            if not line.startswith("READY "):
                raise StartError(f"the {provider} emulator said {line!r}")
            urls[provider] = line.split()[1]
        with log.open("wb") as out:
            ha = await asyncio.create_subprocess_exec(
                python, str(ROOT / "scripts" / "run_homeassistant.py"),
                "--config", str(config), "--skip-pip",
                cwd=ROOT, stdout=out, stderr=out,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        processes.append(ha)
        running = RealHomeAssistant(f"http://127.0.0.1:{port}", urls, log)
        async with aiohttp.ClientSession() as http:
            for _ in range(STARTUP_SECONDS * 4):
                if ha.returncode is not None:
                    raise StartError(log.read_text()[-3000:])
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{running.url}/api/onboarding") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.25)
            else:
                raise StartError("did not start:\n" + log.read_text()[-3000:])
            if not web_ui:
                await running.onboard(http)
        yield running
    finally:
        for process in reversed(processes):
            await stop(process)
