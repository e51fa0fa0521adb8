"""Running an official SDK against an emulator, and checking the audio it got.

The SDKs run in their own interpreter (STREAMING_TTS_SDK_PYTHON, else
.venv-sdk/bin/python, both made by scripts/setup from requirements_sdk.txt)
because their dependency pins need not agree with Home Assistant's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
import json
import os
from pathlib import Path
import shutil
from typing import Any, cast

import pytest

from tests.emulators import synth

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).parent / "clients"


def sdk_python() -> str:
    """Return the interpreter that has the official SDKs installed."""
    configured = os.environ.get("STREAMING_TTS_SDK_PYTHON")
    if configured:
        if not Path(configured).exists():
            pytest.fail(f"STREAMING_TTS_SDK_PYTHON={configured} does not exist")
        return configured
    default = REPO_ROOT / ".venv-sdk" / "bin" / "python"
    if default.exists():
        return str(default)
    pytest.fail(
        "No interpreter with the provider SDKs: run scripts/setup, which creates "
        ".venv-sdk from requirements_sdk.txt, or set STREAMING_TTS_SDK_PYTHON"
    )


async def run_sdk_script(
    script: str,
    args: Sequence[str],
    *,
    unset_env: Iterable[str] = (),
    seconds: float = 30.0,
) -> dict[str, Any]:
    """Run clients/<script> with `args` in the SDK interpreter; return its last JSON line.

    `seconds` bounds the run; `unset_env` names variables (an SDK's key or base-URL fallbacks) that must
    not leak in from the developer's shell.
    """
    # The scripts import sdk_script.py from their own folder, which Python
    # puts first on sys.path unless PYTHONSAFEPATH is set.
    removed = {*unset_env, "PYTHONSAFEPATH"}
    env = {k: v for k, v in os.environ.items() if k not in removed}
    # Loopback must never go through a proxy (websockets and httpx honour these).
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    process = await asyncio.create_subprocess_exec(
        sdk_python(),
        str(CLIENTS / script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        async with asyncio.timeout(seconds):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{script} {' '.join(args)} timed out")
    assert process.returncode == 0, stderr.decode()
    return cast(dict[str, Any], json.loads(stdout.decode().strip().splitlines()[-1]))


async def decode_seconds(data: bytes, sample_rate: int, fmt: str = "mp3") -> float:
    """Decode audio with ffmpeg (`fmt` is its demuxer, e.g. mp3, wav, s16le).

    Return the decoded duration in seconds; ffmpeg must not complain.
    """
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.fail(
            "ffmpeg is required to check the emulator's audio (apt install ffmpeg)"
        )
    input_args: list[str] = ["-f", fmt]
    if fmt == "s16le":
        input_args += ["-ar", str(sample_rate), "-ac", "1"]
    process = await asyncio.create_subprocess_exec(
        ffmpeg,
        *("-v", "error", *input_args, "-i", "pipe:0"),
        *("-f", "s16le", "-ac", "1", "-ar", str(sample_rate), "pipe:1"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(10):
        stdout, stderr = await process.communicate(data)
    assert process.returncode == 0, stderr.decode()
    assert not stderr, stderr.decode()
    return len(stdout) / 2 / sample_rate


def assert_mp3_duration(decoded: float, segments: list[str], sample_rate: int) -> None:
    """Each MP3 segment decodes to its text's length plus less than one frame."""
    expected = sum(synth.sample_count(s, sample_rate) for s in segments) / sample_rate
    slack = len(segments) * synth.mp3_frame_samples(sample_rate) / sample_rate
    assert expected - 1e-9 <= decoded < expected + slack
