"""Raw-wire helpers for the emulators whose WebSocket carries only JSON text frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import aiohttp
import pytest

type Frame = dict[str, Any]


async def send_all(ws: aiohttp.ClientWebSocketResponse, *messages: Any) -> None:
    """Send JSON messages in order."""
    for message in messages:
        await ws.send_json(message)


async def receive_json(ws: aiohttp.ClientWebSocketResponse) -> Frame:
    """Read one frame, which must be a JSON object in a text frame."""
    async with asyncio.timeout(5):
        message = await ws.receive()
    assert message.type is aiohttp.WSMsgType.TEXT, message
    frame = json.loads(message.data)
    assert isinstance(frame, dict), frame
    return cast(Frame, frame)


async def receive_all(ws: aiohttp.ClientWebSocketResponse) -> list[Frame]:
    """Read frames until the server closes; every one must be JSON text."""
    frames: list[Frame] = []
    async with asyncio.timeout(5):
        async for message in ws:
            assert message.type is aiohttp.WSMsgType.TEXT, message
            frames.append(json.loads(message.data))
    return frames


async def assert_silent(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> None:
    """Nothing arrives for `seconds` and the socket stays open."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(seconds):
            await ws.receive()
    assert not ws.closed
