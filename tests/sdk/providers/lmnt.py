"""LMNT: its emulator and SDK client, and Gen C sessions on the raw wire."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
import json
from typing import Any, cast

import aiohttp

from tests.emulators import LmntEmulator, LmntSessionRecord
from tests.emulators.lmnt import STREAM_PATH
from tests.sdk.providers import API_KEY, BadKey, Provider, RestError, Wire

type Frame = dict[str, Any] | bytes


def init_message(**fields: Any) -> dict[str, Any]:
    """Return a Gen C init as SDK 2.13.0 builds it, with `fields` merged in."""
    return {"X-API-Key": API_KEY, "lmnt-version": "1.2", "voice": "leah", **fields}


async def open_session(
    http: aiohttp.ClientSession,
    emulator: LmntEmulator,
    init: dict[str, Any],
    *,
    heartbeat: float | None = None,
) -> aiohttp.ClientWebSocketResponse:
    """Connect to the stream endpoint and send `init`."""
    ws = await http.ws_connect(emulator.ws_base_url + STREAM_PATH, heartbeat=heartbeat)
    await ws.send_json(init)
    return ws


async def receive_all(ws: aiohttp.ClientWebSocketResponse) -> list[Frame]:
    """Read frames until the server closes; JSON as dicts, audio as bytes."""
    frames: list[Frame] = []
    async with asyncio.timeout(5):
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                frames.append(json.loads(message.data))
            elif message.type is aiohttp.WSMsgType.BINARY:
                frames.append(bytes(message.data))
            else:
                break
    return frames


async def receive_frame(ws: aiohttp.ClientWebSocketResponse) -> Frame:
    """Read one frame, failing on close."""
    async with asyncio.timeout(5):
        message = await ws.receive()
    if message.type is aiohttp.WSMsgType.TEXT:
        return cast(dict[str, Any], json.loads(message.data))
    assert message.type is aiohttp.WSMsgType.BINARY, message
    return bytes(message.data)


def audio_of(frames: Sequence[Frame]) -> bytes:
    """Return the concatenated binary frames."""
    return b"".join(f for f in frames if isinstance(f, bytes))


class LmntWire(Wire):
    """Gen C sessions in pcm_s16le: `ready` first, then audio in binary messages."""

    preamble = ("ready",)
    audio_message = aiohttp.WSMsgType.BINARY

    def __init__(self, **init: Any) -> None:
        """Open sessions with `init` fields merged into every init message."""
        self.init = init

    async def open(
        self,
        http: aiohttp.ClientSession,
        emulator: Any,
        *,
        key: str = API_KEY,
        heartbeat: float | None = None,
    ) -> aiohttp.ClientWebSocketResponse:
        """Connect and send an init with `key`."""
        init = init_message(**{"X-API-Key": key, "format": "pcm_s16le", **self.init})
        return await open_session(http, emulator, init, heartbeat=heartbeat)

    def speak(self, text: str, *, end: bool) -> list[Any]:
        """Send the text, then finish, or flush it to keep the session open."""
        last = {"type": "finish"} if end else {"type": "flush", "nonce": 1}
        return [{"type": "text", "text": text}, last]

    async def receive(self, ws: aiohttp.ClientWebSocketResponse) -> Frame:
        """Read one frame: JSON as a dict, audio as bytes."""
        return await receive_frame(ws)

    async def receive_all(self, ws: aiohttp.ClientWebSocketResponse) -> list[Frame]:
        """Read frames until the server closes."""
        return await receive_all(ws)

    def kind(self, frame: Frame) -> str:
        """Audio is binary; every JSON frame names its type."""
        return "audio" if isinstance(frame, bytes) else str(frame["type"])

    def audio_of(self, frames: Sequence[Frame]) -> bytes:
        """Return the concatenated binary frames."""
        return audio_of(frames)

    def internal_error(self, record: LmntSessionRecord) -> dict[str, Any]:
        """The typed internal_server_error of the session."""
        return {
            "type": "error",
            "error": {
                "type": "internal_server_error",
                "message": "emulated internal server error",
            },
            "request_id": record.request_id,
        }


def rest_error(status: int, exception: str, shape: str, body: Any) -> RestError:
    """Voices and account both raise `exception`; the body is in `shape`."""
    return RestError(
        status,
        {"voices": exception, "account": exception},
        body,
        {"rest_error_shape": shape},
    )


LMNT = Provider(
    name="lmnt",
    emulator=LmntEmulator,
    wire=LmntWire(),
    sdk_client="lmnt_sdk_client.py",
    sdk_env=("LMNT_API_KEY", "LMNT_BASE_URL"),
    bad_key=BadKey(
        scenario="bad_key",
        errors={
            "rest_error": {
                "exception": "AuthenticationError",
                "status_code": 401,
                "body": {
                    "error": {
                        "type": "authentication_error",
                        "message": "Invalid API key",
                    }
                },
            }
        },
        # The session is refused in band, by an error message.
        sessions=1,
    ),
    rest_error_scenario="rest_error",
    # Every body shape of rest_error_shape.
    rest_errors=(
        rest_error(
            429,
            "RateLimitError",
            "typed",
            {"error": {"type": "rate_limit_error", "message": "emulated HTTP 429"}},
        ),
        rest_error(500, "InternalServerError", "flat", {"error": "emulated HTTP 500"}),
        rest_error(402, "APIStatusError", "message", {"message": "emulated HTTP 402"}),
    ),
    voices_path="/v1/ai/voice/list",
    voice_ids=lambda body: [v["id"] for v in body],
    voice="leah",
    key_header="x-api-key",
    upgrade_carries_key=False,
    # Every audio message is followed by its timestamps, the stalled one too.
    stall_wire=LmntWire(return_timestamps=True),
    stall_frames=("audio", "timestamps"),
    after_error={"error": ("internal_server_error", "emulated internal server error")},
    after_disconnect={"finished": False},
)
