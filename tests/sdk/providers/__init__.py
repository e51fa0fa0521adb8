"""What the SDK suites know of each provider, for the cases they share.

Each provider's module (lmnt, smallest, telnyx, sarvam) describes its emulator,
its SDK client script and the errors that script reports, and drives its
streaming WebSocket through a `Wire`. The shared cases in test_common_sdk.py
read only these descriptions; each provider's own suite also uses the wire
functions of its module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.emulators.base import EmulatorServer
from tests.sdk.helpers import run_sdk_script
from tests.sdk.wire import receive_all, receive_json

API_KEY = "test-key"

# What describe_error() in most client scripts reports of an SDK exception.
ERROR_FIELDS = frozenset({"exception", "status_code", "body"})


class Wire(ABC):
    """A provider's streaming WebSocket, as far as the shared cases drive it.

    Sessions ask for 16-bit PCM at `rate`, so the audio's length follows
    from the text exactly. Frames are JSON objects unless a subclass says
    otherwise.
    """

    #: The kinds (see `kind`) of the frames a session opens with, before any audio.
    preamble: tuple[str, ...] = ()
    #: The WebSocket message type that carries audio.
    audio_message = aiohttp.WSMsgType.TEXT
    #: The sample rate of the PCM the sessions ask for.
    rate = 24000
    #: What a client sends to have a session waiting for more input.
    idle: tuple[Any, ...] = ()
    #: The close code that follows the emulated internal error.
    error_close_code = 1000

    @abstractmethod
    async def open(
        self,
        http: aiohttp.ClientSession,
        emulator: EmulatorServer[Any, Any],
        *,
        key: str = API_KEY,
        heartbeat: float | None = None,
    ) -> aiohttp.ClientWebSocketResponse:
        """Connect with `key` and start a session."""

    @abstractmethod
    def speak(self, text: str, *, end: bool) -> list[Any]:
        """Return the messages that have `text` spoken now; `end` also ends the input."""

    async def receive(self, ws: aiohttp.ClientWebSocketResponse) -> Any:
        """Read one frame."""
        return await receive_json(ws)

    async def receive_all(self, ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
        """Read frames until the server closes."""
        return await receive_all(ws)

    async def receive_answer(self, ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
        """Read the frames that answer `speak(text, end=True)`, through its end."""
        return await self.receive_all(ws)

    @abstractmethod
    def kind(self, frame: Any) -> str:
        """Name a frame: "audio", "error", or the provider's own name for it."""

    @abstractmethod
    def audio_of(self, frames: Sequence[Any]) -> bytes:
        """Return the decoded audio of the frames, in order."""

    @abstractmethod
    def internal_error(self, record: Any) -> Any:
        """Return the frame of the emulated internal error in `record`'s session."""


@dataclass(frozen=True)
class RestError:
    """A REST failure the SDK must report: what each call raised, with the body."""

    status: int
    # The exception class by summary key, one key a REST call.
    exceptions: Mapping[str, str]
    body: Any
    # Emulator settings besides rest_status_override=status, which they may undo.
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BadKey:
    """What the SDK client's bad-key scenario reports for a refused key."""

    scenario: str
    # What describe_error() reported, by summary key (the fields to compare).
    errors: Mapping[str, Mapping[str, Any]]
    # Other summary values.
    summary: Mapping[str, Any] = field(default_factory=dict)
    # Sessions and WebSocket upgrades the emulator recorded.
    sessions: int = 0
    upgrades: int = 1
    # Other emulator attributes.
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Provider:
    """One provider's emulator, SDK client script and wire, for the shared cases."""

    name: str
    emulator: type[EmulatorServer[Any, Any]]
    wire: Wire
    # The script in tests/sdk/clients/, and the variables its SDK falls back
    # to for the key or base URL (never taken from the developer's shell).
    sdk_client: str
    sdk_env: tuple[str, ...]
    bad_key: BadKey
    rest_error_scenario: str
    rest_errors: tuple[RestError, ...]
    # The voice listing, how to read its voice ids, and one voice it lists
    # by default.
    voices_path: str
    voice_ids: Callable[[Any], list[str]]
    voice: str
    # The header REST calls carry the key in (lower case), and what precedes
    # the key there; upgrades carry it the same way unless it travels in the
    # session's first message.
    key_header: str
    key_prefix: str = ""
    upgrade_carries_key: bool = True
    # The fields the client script's describe_error() reports.
    error_fields: frozenset[str] = ERROR_FIELDS
    # Emulator settings of the internal-error case.
    error_settings: Mapping[str, Any] = field(default_factory=dict)
    # The stall case's wire where it differs, and the frames after the
    # preamble that arrive before the stall.
    stall_wire: Wire | None = None
    stall_frames: tuple[str, ...] = ("audio",)
    # Session-record fields the fault cases check besides their own.
    after_error: Mapping[str, Any] = field(default_factory=dict)
    after_stall: Mapping[str, Any] = field(default_factory=dict)
    after_drop: Mapping[str, Any] = field(default_factory=dict)
    after_disconnect: Mapping[str, Any] = field(default_factory=dict)
    after_stop: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        """Name the provider in test ids."""
        return self.name

    def serve(self) -> EmulatorServer[Any, Any]:
        """Return an emulator that accepts API_KEY; start it with `async with`."""
        return self.emulator(self.emulator.config_type(api_keys={API_KEY}))

    def auth(self, key: str = API_KEY) -> dict[str, str]:
        """Return the headers that authenticate a REST call with `key`."""
        return {self.key_header: self.key_prefix + key}

    async def run_sdk(
        self,
        emulator: EmulatorServer[Any, Any],
        scenario: str,
        *options: str,
        api_key: str = API_KEY,
        audio_out: Path | None = None,
    ) -> dict[str, Any]:
        """Run one scenario of the SDK client script; return its JSON summary.

        `options` are further command-line options of the script.
        """
        args = [emulator.base_url, api_key, scenario, *options]
        if audio_out is not None:
            args += ["--audio-out", str(audio_out)]
        return await run_sdk_script(self.sdk_client, args, unset_env=self.sdk_env)
