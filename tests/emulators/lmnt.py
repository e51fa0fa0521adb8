"""Local emulator of the LMNT streaming speech API (WebSocket sessions and REST).

Speaks all three WebSocket protocol generations: typed sessions (Gen C, SDK
2.6+, detected by ``lmnt-version`` in the init), ``protocol_version: 2`` (Gen
B) and the legacy untyped messages (Gen A, SDK 1.x). Every generation also
accepts the other generations' command shapes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
import copy
from dataclasses import dataclass, field
import json
import logging
from typing import Any, Final, Literal
import uuid

from aiohttp import WSCloseCode, WSMsgType, web

from . import synth
from .base import EmulatorConfig, EmulatorServer

_LOGGER = logging.getLogger(__name__)

STREAM_PATH: Final = "/v1/ai/speech/stream"

# fmt: off
LANGUAGES: Final = frozenset({
    "auto", "ar", "as", "bn", "cs", "da", "de", "en", "es", "fi", "fr", "hi", "id",
    "it", "ja", "ko", "ml", "mr", "nl", "pl", "pt", "ru", "sk", "sv", "ta", "te",
    "th", "tr", "uk", "ur", "vi", "zh",
})
# fmt: on
SAMPLE_RATES: Final = (24000, 16000, 8000)
# "raw" is the 1.x name of pcm_s16le. webm/Opus is a real LMNT format that
# this emulator cannot encode; it is refused with a clear message.
FORMATS: Final = frozenset({"mp3", "pcm_s16le", "raw", "pcm_f32le", "ulaw"})
UNSUPPORTED_FORMATS: Final = frozenset({"webm"})

ERROR_SLUGS: Final = (
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "payment_required_error",
    "rate_limit_error",
    "internal_server_error",
)
_STATUS_SLUGS: Final = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "payment_required_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}

Generation = Literal["A", "B", "C"]
RestErrorShape = Literal["typed", "flat", "message"]


def _voice(
    voice_id: str,
    name: str,
    gender: str,
    description: str,
    tags: Sequence[str],
    *,
    owner: str = "system",
    starred: bool = False,
) -> dict[str, Any]:
    return {
        "id": voice_id,
        "name": name,
        "owner": owner,
        "state": "ready",
        "description": description,
        "gender": gender,
        # .invalid never resolves: previews are not served by the emulator.
        "preview_url": f"https://voice-previews.invalid/lmnt/{voice_id}.mp3",
        "starred": starred,
        "tags": list(tags),
        "type": "instant",
    }


def default_voices() -> list[dict[str, Any]]:
    """Return the default catalogue: system voices plus one voice of your own."""
    return [
        _voice("leah", "Leah", "female", "Warm and friendly.", ["conversational"]),
        _voice(
            "elowen", "Elowen", "female", "Calm storyteller.", ["narration", "calm"]
        ),
        _voice(
            "mara-wilson",
            "Mara Wilson",
            "female",
            "Bright and expressive.",
            ["expressive"],
            starred=True,
        ),
        _voice("brandon", "Brandon", "male", "Confident and clear.", ["news"]),
        _voice("morgan", "Morgan", "female", "Polished and neutral.", ["support"]),
        _voice("nathan", "Nathan", "male", "Relaxed and natural.", ["conversational"]),
        _voice("ansel", "Ansel", "male", "Deep and steady.", ["narration"]),
        _voice(
            "my-cloned-voice",
            "My Cloned Voice",
            "nonbinary",
            "A voice cloned from your own recording.",
            [],
            owner="me",
            starred=True,
        ),
    ]


def default_account() -> dict[str, Any]:
    """Return the default ``GET /v1/account`` body."""
    return {
        "plan": {
            "character_limit": 1_000_000,
            "commercial_use_allowed": True,
            "type": "pro",
        },
        "usage": {"characters": 12_345},
    }


@dataclass
class LmntEmulatorConfig(EmulatorConfig):
    """Behaviour of an `LmntEmulator` (see `EmulatorConfig` for the shared part).

    MP3 audio messages hold whole frames, so their length is `chunk_seconds`
    rounded to frames. The fault switches count binary audio messages.
    """

    voices: list[dict[str, Any]] = field(default_factory=default_voices)
    account: dict[str, Any] = field(default_factory=default_account)
    # Speak on its own once this many characters are buffered, up to the last
    # word boundary; None waits for flush or finish.
    auto_synthesize_chars: int | None = None
    mp3_kbps: int = 96
    # µ-law without an explicit sample_rate; the REST docs give 8000 Hz.
    ulaw_default_sample_rate: int = 8000
    # Close code after an error frame (the real one is not documented).
    error_close_code: int = WSCloseCode.OK
    # After finish: close with this code once the rest is spoken (1000 as
    # documented; 1001 "going away" is what some servers send), or None to
    # stay open until the client closes.
    finish_close_code: int | None = WSCloseCode.OK
    # Answer the init with this (slug, message) error instead of starting.
    reject_with: tuple[str, str] | None = None
    # REST error bodies: "typed" {"error":{"type","message"}}, "flat"
    # {"error": msg} or "message" {"message": msg}.
    rest_error_shape: RestErrorShape = "typed"


@dataclass
class LmntSessionRecord:
    """What happened on one WebSocket connection."""

    init: dict[str, Any] = field(default_factory=dict)
    generation: Generation | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Every client JSON message after the init, in order.
    messages: list[dict[str, Any]] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)
    flush_nonces: list[int] = field(default_factory=list)
    reset_nonces: list[int] = field(default_factory=list)
    # The texts actually spoken, one per synthesised segment.
    segments: list[str] = field(default_factory=list)
    # The client asked to finish (finish / eof / command eof).
    finished: bool = False
    # The client closed (or vanished) before the server closed the session.
    client_closed: bool = False
    # The (slug, message) of the error frame sent, if any.
    error: tuple[str, str] | None = None
    audio_bytes_sent: int = 0
    chunks_sent: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str:
        """Return the concatenation of every text message's text, in order."""
        return "".join(self.text_parts)

    @property
    def voice(self) -> str | None:
        """Return the voice the init asked for."""
        voice = self.init.get("voice")
        return voice if isinstance(voice, str) else None

    @property
    def flushes(self) -> int:
        """Return how many flushes carried a nonce."""
        return len(self.flush_nonces)


class LmntEmulator(EmulatorServer[LmntEmulatorConfig, LmntSessionRecord]):
    """LMNT on loopback: ``/v1/ai/speech/stream``, voice list and account REST."""

    config_type = LmntEmulatorConfig

    def setup_routes(self, app: web.Application) -> None:
        """Add the LMNT routes."""
        app.router.add_get(STREAM_PATH, self._stream)
        app.router.add_get("/v1/ai/voice/list", self._voice_list)
        app.router.add_get("/v1/ai/voice/{voice_id}", self._voice_get)
        app.router.add_get("/v1/account", self._account)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        config = copy.copy(self.config)
        async with self.websocket(request) as ws:
            record = LmntSessionRecord()
            async with self.recording(record):
                await _LmntSession(request, ws, record, config).run()
        return ws

    # REST

    def _rest_error(self, status: int, message: str) -> web.Response:
        slug = _STATUS_SLUGS.get(
            status,
            "internal_server_error" if status >= 500 else "invalid_request_error",
        )
        body: dict[str, Any]
        match self.config.rest_error_shape:
            case "typed":
                body = {"error": {"type": slug, "message": message}}
            case "flat":
                body = {"error": message}
            case "message":
                body = {"message": message}
        return web.json_response(body, status=status)

    def _rest_refusal(self, request: web.Request) -> web.Response | None:
        if (status := self.config.rest_status_override) is not None:
            return self._rest_error(status, f"emulated HTTP {status}")
        key = request.headers.get("X-API-Key", "")
        if not self.config.key_ok(key):
            return self._rest_error(
                401, "Missing API key" if not key else "Invalid API key"
            )
        return None

    async def _voice_list(self, request: web.Request) -> web.Response:
        if (refusal := self._rest_refusal(request)) is not None:
            return refusal
        owner = request.query.get("owner", "all")
        starred = request.query.get("starred", "").lower() in ("true", "1")
        voices = [
            voice
            for voice in self.config.voices
            if (owner == "all" or voice.get("owner") == owner)
            and (not starred or voice.get("starred"))
        ]
        return web.json_response(voices)

    async def _voice_get(self, request: web.Request) -> web.Response:
        if (refusal := self._rest_refusal(request)) is not None:
            return refusal
        voice_id = request.match_info["voice_id"]
        for voice in self.config.voices:
            if voice.get("id") == voice_id:
                return web.json_response(voice)
        return self._rest_error(404, f"voice '{voice_id}' not found")

    async def _account(self, request: web.Request) -> web.Response:
        if (refusal := self._rest_refusal(request)) is not None:
            return refusal
        return web.json_response(self.config.account)


def _truthy(value: object) -> bool:
    # Gen B sends flags as the strings "True"/"False".
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return value is True


@dataclass(frozen=True, slots=True)
class _Command:
    kind: Literal["text", "flush", "reset", "finish", "error"]
    text: str = ""
    nonce: int | None = None


class _SessionError(Exception):
    def __init__(self, slug: str, message: str) -> None:
        super().__init__(message)
        self.slug = slug
        self.message = message


class _LmntSession:
    """One WebSocket session: a reader (this task) and a speaking worker."""

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        record: LmntSessionRecord,
        config: LmntEmulatorConfig,
    ) -> None:
        self.request = request
        self.ws = ws
        self.record = record
        self.config = config
        self.generation: Generation = "C"
        self.audio_format = "mp3"
        self.sample_rate = SAMPLE_RATES[0]
        self.timestamps = False
        self.extras = False
        self.cumulative_timestamps = True
        self.queue: asyncio.Queue[_Command] = asyncio.Queue()
        # Resets received but not yet processed: the worker drops text and
        # stops speaking while any is pending, so nothing from before a reset
        # is spoken after the client asked for it.
        self.pending_resets = 0
        self.buffer = ""
        self.timestamp_offset = 0.0
        self.header_sent = False
        self.server_closing = False
        self.key: object = None  # as the init message carried it
        self.encoder: synth.Mp3StreamEncoder | None = None
        self.pacer = synth.Pacer(config.speed)

    async def run(self) -> None:
        first = await self.ws.receive()
        if first.type in (
            WSMsgType.CLOSE,
            WSMsgType.CLOSING,
            WSMsgType.CLOSED,
            WSMsgType.ERROR,
        ):
            self.record.client_closed = True
            return
        try:
            self._start(first)
        except _SessionError as err:
            await self._fail(err.slug, err.message)
            return
        if self.generation == "C":
            await self._send_json(
                {"type": "ready", "request_id": self.record.request_id}
            )
        worker = asyncio.create_task(self._guarded_work())
        shutdown = False
        try:
            await self._read()
        except asyncio.CancelledError:
            shutdown = True
            raise
        finally:
            if not self.server_closing and not shutdown:
                self.record.client_closed = True
            # A server-side close (finish, error) completes by itself; anything
            # else leaves nobody to speak to.
            if shutdown or not self.server_closing:
                worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    # Init

    def _start(self, first: Any) -> None:
        if first.type is not WSMsgType.TEXT:
            raise _SessionError(
                "invalid_request_error", "the first message must be a JSON init"
            )
        try:
            init = json.loads(first.data)
        except ValueError:
            init = None
        if not isinstance(init, dict):
            raise _SessionError(
                "invalid_request_error", "the first message must be a JSON object"
            )
        self.record.init = init
        if "lmnt-version" in init:
            self.generation = "C"
        elif str(init.get("protocol_version")) == "2":
            self.generation = "B"
        else:
            self.generation = "A"
        self.record.generation = self.generation
        if init.get("type", "init") != "init":
            raise _SessionError(
                "invalid_request_error", "the first message must be the init message"
            )
        self._check_access(init)
        self._choose_audio(init)
        self.timestamps = _truthy(init.get("return_timestamps"))
        self.extras = _truthy(init.get("return_extras")) or _truthy(
            init.get("send_extras")
        )
        # API 1.0/1.1 restart timestamps for each chunk; 1.2 accumulates them.
        self.cumulative_timestamps = self.generation == "C" and str(
            init.get("lmnt-version")
        ) not in ("1.0", "1.1")

    def _check_access(self, init: dict[str, Any]) -> None:
        config = self.config
        key = init.get("X-API-Key")
        self.key = key
        if not config.key_ok(key):
            raise _SessionError(
                "authentication_error",
                "Missing API key" if not key else "Invalid API key",
            )
        if config.reject_with is not None:
            raise _SessionError(*config.reject_with)
        voice = init.get("voice")
        if not isinstance(voice, str) or not voice:
            raise _SessionError("invalid_request_error", "voice is required")
        if not any(v.get("id") == voice for v in config.voices):
            raise _SessionError("not_found_error", f"voice '{voice}' not found")
        language = init.get("language")
        if language is not None and language not in LANGUAGES:
            raise _SessionError(
                "invalid_request_error", f"unsupported language {language!r}"
            )

    def _choose_audio(self, init: dict[str, Any]) -> None:
        audio_format = init.get("format", "mp3")
        if audio_format in UNSUPPORTED_FORMATS:
            raise _SessionError(
                "invalid_request_error",
                f"format '{audio_format}' is not supported by this emulator",
            )
        if audio_format not in FORMATS:
            raise _SessionError(
                "invalid_request_error", f"unknown format {audio_format!r}"
            )
        self.audio_format = "pcm_s16le" if audio_format == "raw" else audio_format
        default_rate = (
            self.config.ulaw_default_sample_rate
            if self.audio_format == "ulaw"
            else SAMPLE_RATES[0]
        )
        rate = init.get("sample_rate", default_rate)
        try:
            # Gen C sends a number, Gen B a string.
            self.sample_rate = 0 if isinstance(rate, bool) else int(rate)
        except (TypeError, ValueError):
            self.sample_rate = 0
        if self.sample_rate not in SAMPLE_RATES:
            raise _SessionError(
                "invalid_request_error",
                f"sample_rate must be one of {list(SAMPLE_RATES)}, got {rate!r}",
            )
        if self.audio_format == "mp3":
            self.encoder = synth.Mp3StreamEncoder(
                self.sample_rate, self.config.mp3_kbps
            )

    # Reading

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is WSMsgType.TEXT:
                commands = self._parse(message.data)
            elif message.type is WSMsgType.BINARY:
                commands = [
                    _Command("error", "binary messages are not accepted; send JSON")
                ]
            else:  # ERROR: the connection is gone
                break
            for command in commands:
                if command.kind == "reset":
                    self.pending_resets += 1
                self.queue.put_nowait(command)

    def _parse(self, data: str) -> list[_Command]:
        try:
            message = json.loads(data)
        except ValueError:
            return [_Command("error", "messages must be JSON")]
        if not isinstance(message, dict):
            return [_Command("error", "messages must be JSON objects")]
        self.record.messages.append(message)
        if "type" in message:
            commands = [self._typed(message)]
        elif "command" in message:
            commands = [self._legacy_command(message)]
        else:
            commands = self._untyped(message)
        if any(command.kind == "finish" for command in commands):
            self.record.finished = True
        return commands

    def _typed(self, message: dict[str, Any]) -> _Command:
        """Gen C: {"type": "text"|"flush"|"reset"|"finish", ...}."""
        kind = message["type"]
        if kind == "text":
            return self._text(message.get("text"))
        if kind in ("flush", "reset"):
            return self._nonce_command(kind, message.get("nonce"))
        if kind == "finish":
            return _Command("finish")
        return _Command("error", f"unknown message type {kind!r}")

    def _legacy_command(self, message: dict[str, Any]) -> _Command:
        """Gen B: {"command": "flush"|"reset"|"eof", "nonce"?: N}."""
        kind = message["command"]
        if kind in ("flush", "reset"):
            return self._nonce_command(kind, message.get("nonce"))
        if kind in ("eof", "finish"):
            return _Command("finish")
        return _Command("error", f"unknown command {kind!r}")

    def _untyped(self, message: dict[str, Any]) -> list[_Command]:
        """Gen A: {"text": ...}, {"flush": true}, {"eof": true}, maybe combined."""
        commands: list[_Command] = []
        if "text" in message:
            commands.append(self._text(message["text"]))
        if message.get("flush") is True:
            commands.append(self._nonce_command("flush", message.get("nonce")))
        if message.get("eof") is True:
            commands.append(_Command("finish"))
        return commands or [_Command("error", "unrecognised message")]

    def _text(self, text: object) -> _Command:
        if not isinstance(text, str):
            return _Command("error", "text must be a string")
        self.record.text_parts.append(text)
        return _Command("text", text)

    def _nonce_command(
        self, kind: Literal["flush", "reset"], nonce: object
    ) -> _Command:
        if nonce is None:
            return _Command(kind)
        if not isinstance(nonce, int) or isinstance(nonce, bool):
            return _Command("error", "nonce must be an integer")
        if kind == "flush":
            self.record.flush_nonces.append(nonce)
        else:
            self.record.reset_nonces.append(nonce)
        return _Command(kind, nonce=nonce)

    # Speaking

    async def _guarded_work(self) -> None:
        try:
            await self._work()
        except ConnectionError:
            _LOGGER.debug("session %s: client went away", self.record.request_id)
        except Exception:
            _LOGGER.exception("session %s failed", self.record.request_id)
            self.server_closing = True
            await self.ws.close(code=WSCloseCode.INTERNAL_ERROR)

    async def _work(self) -> None:
        while True:
            command = await self.queue.get()
            match command.kind:
                case "text":
                    if self.pending_resets:
                        continue
                    self.buffer += command.text
                    if not await self._auto_speak():
                        return
                case "flush":
                    if not self.pending_resets and not await self._speak_buffer():
                        return
                    self.timestamp_offset = 0.0
                    await self._ack("flush", command.nonce)
                case "reset":
                    self.pending_resets -= 1
                    self.buffer = ""
                    self.timestamp_offset = 0.0
                    await self._ack("reset", command.nonce)
                case "finish":
                    if self.pending_resets:
                        self.buffer = ""
                    code = self.config.finish_close_code
                    if await self._speak_buffer() and code is not None:
                        self.server_closing = True
                        await self.ws.close(code=code)
                    return
                case "error":
                    await self._fail("invalid_request_error", command.text)
                    return

    async def _auto_speak(self) -> bool:
        limit = self.config.auto_synthesize_chars
        if limit is None or len(self.buffer) < limit:
            return True
        boundary = max(self.buffer.rfind(" "), self.buffer.rfind("\n"))
        if boundary <= 0:
            return True
        segment, self.buffer = self.buffer[: boundary + 1], self.buffer[boundary + 1 :]
        return await self._speak(segment)

    async def _speak_buffer(self) -> bool:
        segment, self.buffer = self.buffer, ""
        return await self._speak(segment)

    def _interrupted(self) -> bool:
        return self.pending_resets > 0

    async def _speak(self, segment: str) -> bool:
        """Send the audio of `segment`; False when a fault ended the session."""
        if not segment:
            return True
        if self.config.first_audio_latency > 0:
            await asyncio.sleep(self.config.first_audio_latency)
        if self._interrupted():
            return True
        self.record.segments.append(segment)
        rate = self.sample_rate
        pcm = synth.synthesize_pcm(segment, rate)
        # (word, first sample) pairs, on the same sample grid as the audio.
        words = [
            (word, round(index * synth.SECONDS_PER_CHAR * rate))
            for word, index in synth.words_with_offsets(segment)
        ]
        self.pacer.restart()
        fed = 0  # samples of the segment handed to the encoder so far
        reported = 0  # timestamps cover the words starting before this sample
        pieces = synth.chunk_pcm(pcm, rate, self.config.chunk_seconds)
        unsent = 0.0  # seconds of audio encoded but not yet sent
        for index, piece in enumerate(pieces):
            if self._interrupted():
                if self.encoder is not None:
                    self.encoder.flush()  # discard the interrupted segment
                return True
            fed += len(piece) // 2
            unsent += len(piece) / 2 / rate
            payload = self._encode(piece)
            last = index == len(pieces) - 1
            if last and self.encoder is not None:
                payload += self.encoder.flush()
            if not payload:
                # The MP3 encoder is still filling a frame: no time passes on
                # the wire, so the first audio comes right after the latency.
                continue
            await self.pacer.wait(unsent)
            unsent = 0.0
            durations = self._durations(words, reported, fed)
            if not await self._send_chunk(payload, durations, last):
                return False
            reported = fed
        self.timestamp_offset += len(pcm) / 2 / rate
        return True

    def _encode(self, pcm: bytes) -> bytes:
        match self.audio_format:
            case "mp3":
                assert self.encoder is not None
                return self.encoder.encode(pcm)
            case "pcm_f32le":
                return synth.pcm16_to_f32le(pcm)
            case "ulaw":
                data = synth.pcm16_to_ulaw(pcm)
                if not self.header_sent:
                    self.header_sent = True
                    data = (
                        synth.wav_header(
                            self.sample_rate,
                            bits_per_sample=8,
                            format_tag=synth.WAVE_FORMAT_MULAW,
                        )
                        + data
                    )
                return data
            case _:
                return pcm

    def _durations(
        self, words: Sequence[tuple[str, int]], start: int, end: int
    ) -> list[dict[str, Any]]:
        """Timestamps of the words whose audio starts in samples [start, end)."""
        rate = self.sample_rate
        # Under API 1.2 starts run on from the last flush or reset; earlier
        # versions and the legacy extras count from the start of each chunk.
        offset = self.timestamp_offset if self.cumulative_timestamps else -start / rate
        return [
            {
                "text": word,
                "start": round(first / rate + offset, 4),
                "duration": round(len(word) * synth.SECONDS_PER_CHAR, 4),
            }
            for word, first in words
            if start <= first < end
        ]

    async def _send_chunk(
        self, payload: bytes, durations: list[dict[str, Any]], last: bool
    ) -> bool:
        config, record = self.config, self.record
        sent = record.chunks_sent
        if config.error_after_chunks is not None and sent >= config.error_after_chunks:
            await self._fail("internal_server_error", "emulated internal server error")
            return False
        if config.drop_after_chunks is not None and sent >= config.drop_after_chunks:
            self._drop()
            return False
        if config.stall_after_chunks is not None and sent >= config.stall_after_chunks:
            _LOGGER.debug("session %s stalls", record.request_id)
            return False
        if self.generation != "C" and self.extras:
            # Legacy extras come before the audio they describe, one per chunk.
            await self._send_json(
                {"durations": durations, "buffer_empty": last and not self.buffer}
            )
        await self.ws.send_bytes(payload)
        record.chunks_sent += 1
        record.audio_bytes_sent += len(payload)
        if self.generation == "C" and self.timestamps:
            await self._send_json({"type": "timestamps", "timestamps": durations})
        return True

    # Replies

    async def _send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def _ack(self, kind: Literal["flush", "reset"], nonce: int | None) -> None:
        # Gen A has no acknowledgements; an ack needs the client's nonce.
        if nonce is None or self.generation == "A":
            return
        if self.generation == "C":
            await self._send_json({"type": f"{kind}_complete", "nonce": nonce})
        else:
            await self._send_json({"complete": kind, "nonce": nonce})

    async def _fail(self, slug: str, message: str) -> None:
        """Send one error frame in the session's dialect, then close."""
        message = self.config.echoed(message, self.key)
        self.record.error = (slug, message)
        self.server_closing = True
        if self.generation == "C":
            body: dict[str, Any] = {
                "type": "error",
                "error": {"type": slug, "message": message},
                "request_id": self.record.request_id,
            }
        else:
            body = {"error": message}
        try:
            await self._send_json(body)
        except ConnectionError:
            return
        await self.ws.close(code=self.config.error_close_code)

    def _drop(self) -> None:
        """Close the TCP connection without a close frame, like a crashed server."""
        self.server_closing = True
        transport = self.request.transport
        if transport is not None:
            transport.close()
