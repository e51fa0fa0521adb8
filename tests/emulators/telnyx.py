"""Local emulator of the Telnyx streaming text-to-speech API (WebSocket and voice list).

The WebSocket at ``/v2/text-to-speech/speech`` is configured entirely by the
upgrade request (``Authorization: Bearer`` header, ``voice``/``audio_format``/
``sample_rate``/``inactivity_timeout`` query) and refuses bad ones with an
HTTP status, as the live service does. The client then sends the ``{"text":
" "}`` handshake and text fragments; the server speaks whole sentences as
they complete, the rest on ``flush`` or at end of input (``{"text": ""}``),
after which it closes. Points the public sources leave open are switchable
in `TelnyxEmulatorConfig`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
import copy
from dataclasses import dataclass, field
import io
import json
import logging
import math
import re
from typing import Any, Final, Literal
import wave

from aiohttp import WSCloseCode, WSMsgType, web

from . import synth
from .base import EmulatorConfig, EmulatorServer, request_key

_LOGGER = logging.getLogger(__name__)

STREAM_PATH: Final = "/v2/text-to-speech/speech"
VOICES_PATH: Final = "/v2/text-to-speech/voices"

SAMPLE_RATES: Final = (8000, 16000, 22050, 24000, 44100, 48000, 96000)
DEFAULT_SAMPLE_RATE: Final = 24000
# MPEG audio stops at 48 kHz; 96 kHz exists for linear16 only.
MP3_MAX_SAMPLE_RATE: Final = 48000
AUDIO_FORMATS: Final = frozenset({"mp3", "linear16"})
# Formats Telnyx offers for some voice families that this emulator cannot produce.
UNSUPPORTED_AUDIO_FORMATS: Final = frozenset({"wav", "mulaw", "alaw", "ogg_vorbis"})
DEFAULT_INACTIVITY_TIMEOUT: Final = 20.0

# A sentence ends at one of these when whitespace or the end of the buffer follows.
SENTENCE_ENDS: Final = frozenset(".!?\u2026\u3002")

AUDIO_ERROR: Final = "Error in audio response"
IDLE_CLOSE_REASON: Final = "inactivity timeout"
HANDSHAKE_TEXT: Final = " "

# One part of a compound voice id: "Telnyx", "NaturalHD", "en-US-AvaMultilingualNeural".
_VOICE_PART: Final = re.compile(r"[A-Za-z0-9_-]+")

# Telnyx error codes and titles by HTTP status, for {"errors": [...]} bodies.
_ERROR_CODES: Final = {
    400: ("10015", "Bad Request"),
    401: ("10009", "Authentication failed"),
    403: ("10010", "Authorization failed"),
    404: ("10005", "Resource not found"),
    422: ("10015", "Invalid parameter"),
    429: ("10011", "Too many requests"),
}


def _voice(
    voice_id: str, name: str, provider: str, language: str, gender: str
) -> dict[str, Any]:
    return {
        "voice_id": voice_id,
        "name": name,
        "provider": provider,
        "language": language,
        "gender": gender,
        # Telnyx runs its own models; other vendors' voices are proxied.
        "hosted": provider == "telnyx",
    }


def default_voices() -> list[dict[str, Any]]:
    """Return the default catalogue: Telnyx-hosted voices plus AWS and Azure ones."""
    return [
        _voice("Telnyx.NaturalHD.astra", "Astra", "telnyx", "en-US", "female"),
        _voice("Telnyx.NaturalHD.luna", "Luna", "telnyx", "en-US", "female"),
        _voice("Telnyx.NaturalHD.albion", "Albion", "telnyx", "en-GB", "male"),
        _voice("Telnyx.NaturalHD.amarante", "Amarante", "telnyx", "fr-FR", "female"),
        _voice("Telnyx.Natural.allison", "Allison", "telnyx", "en-US", "female"),
        _voice("Telnyx.KokoroTTS.af_heart", "Heart", "telnyx", "en-US", "female"),
        # Listed like every other voice, but refused on the WebSocket (REST only).
        _voice("Telnyx.Ultra.nova", "Nova", "telnyx", "en-US", "female"),
        _voice("AWS.Polly.Danielle-Neural", "Danielle", "aws", "en-US", "female"),
        _voice("AWS.Polly.Vicki-Neural", "Vicki", "aws", "de-DE", "female"),
        _voice(
            "azure.en-US-AvaMultilingualNeural",
            "Ava Multilingual",
            "azure",
            "en-US",
            "female",
        ),
        _voice("azure.de-DE-ConradNeural", "Conrad", "azure", "de-DE", "male"),
    ]


def _voice_key(voice_id: str) -> str:
    """Compare compound ids with the provider part case-insensitively."""
    provider, _, rest = voice_id.partition(".")
    return f"{provider.casefold()}.{rest}"


def error_body(status: int, detail: str) -> dict[str, Any]:
    """Return a Telnyx ``{"errors": [...]}`` body for `status`."""
    code, title = _ERROR_CODES.get(
        status,
        ("10007", "Unexpected error") if status >= 500 else (str(status), "Error"),
    )
    return {"errors": [{"code": code, "title": title, "detail": detail}]}


def sentence_end(text: str) -> int:
    """Return the index just past the last sentence end in `text` (0: none)."""
    for index in range(len(text) - 1, -1, -1):
        if text[index] in SENTENCE_ENDS and (
            index + 1 == len(text) or text[index + 1].isspace()
        ):
            return index + 1
    return 0


@dataclass
class TelnyxEmulatorConfig(EmulatorConfig):
    """Behaviour of a `TelnyxEmulator` (see `EmulatorConfig` for the shared part).

    MP3 audio messages hold whole frames, so their length is `chunk_seconds`
    rounded to frames. The fault switches count audio messages; text-bearing
    frames (``audio: null``) and final frames are not audio messages.
    """

    voices: list[dict[str, Any]] = field(default_factory=default_voices)
    # Seconds without a client frame before the server closes; a session's
    # ``inactivity_timeout`` query parameter overrides it.
    idle_timeout: float = DEFAULT_INACTIVITY_TIMEOUT
    # After a synthesis's streamed chunks (text null), also send the
    # NaturalHD-style concatenated frame that carries the sentence and no audio.
    text_frames: bool = True
    # Send {"audio": null, "isFinal": true, "text": ""} after every synthesis;
    # False sends only one, right before the close at end of input.
    final_after_each_synthesis: bool = True
    # Close after the final frame that ends the input (as documented); False
    # leaves the socket open for more text, as the asyncapi says a final does.
    close_after_end: bool = True
    # Add "type": "audio_chunk" | "final" | "error" to server frames. The SDK's
    # types declare it; whether the live server sends it is not known.
    type_field: bool = False
    # Whether a {"text": " "} keep-alive restarts the inactivity timer (not
    # known for the live server); every other client frame always does.
    keepalive_resets_idle: bool = True
    mp3_kbps: int = 96
    # linear16 chunks each in a WAV header of their own (not documented either
    # way; pipecat strips one), instead of bare samples.
    linear16_wav_headers: bool = False
    # Close code after an error frame.
    error_close_code: int = WSCloseCode.INTERNAL_ERROR


@dataclass
class TelnyxSessionRecord:
    """What happened on one WebSocket connection."""

    # The upgrade request's query string, as sent.
    query: dict[str, str] = field(default_factory=dict)
    # The voice query value (or the id built from provider/model_id/voice_id).
    voice: str | None = None
    audio_format: str = "mp3"
    sample_rate: int = DEFAULT_SAMPLE_RATE
    inactivity_timeout: float = DEFAULT_INACTIVITY_TIMEOUT
    # The {"text": " "} handshake arrived, with these voice_settings if any.
    handshake: bool = False
    voice_settings: dict[str, Any] | None = None
    # Every client JSON message, the handshake included, in order.
    messages: list[dict[str, Any]] = field(default_factory=list)
    # The text to speak, as sent (no handshake, keep-alive or end marker).
    text_parts: list[str] = field(default_factory=list)
    # Every synthesis started, one text each, and those a force cut short.
    segments: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    flushes: int = 0
    keepalives: int = 0
    forces: int = 0
    # The client sent {"text": ""}: end of input.
    finished: bool = False
    # The client closed (or vanished) before the server closed the session.
    client_closed: bool = False
    # The server closed the session for inactivity.
    timed_out: bool = False
    # The message of the error frame sent, if any.
    error: str | None = None
    # The close code the server sent (None: it did not close with a frame).
    close_code: int | None = None
    chunks_sent: int = 0
    audio_bytes_sent: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str:
        """Return the concatenation of every text fragment, in order."""
        return "".join(self.text_parts)


@dataclass(frozen=True, slots=True)
class _Settings:
    """What the upgrade request fixed for the whole session."""

    voice: str
    audio_format: str
    sample_rate: int
    inactivity_timeout: float


class _UpgradeError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class TelnyxEmulator(EmulatorServer[TelnyxEmulatorConfig, TelnyxSessionRecord]):
    """Telnyx on loopback: ``/v2/text-to-speech/speech`` and the voice list."""

    config_type = TelnyxEmulatorConfig

    def __init__(
        self,
        config: TelnyxEmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        handshake_delay: float | None = None,
    ) -> None:
        """Prepare the emulator; `start()` or ``async with`` makes it listen."""
        # (status, detail) of every WebSocket upgrade refused with an HTTP error.
        self.rejections: list[tuple[int, str]] = []
        self._stopping = False
        super().__init__(
            config,
            host=host,
            port=port,
            handshake_delay=handshake_delay,
        )

    def setup_routes(self, app: web.Application) -> None:
        """Add the Telnyx routes."""
        app.router.add_get(STREAM_PATH, self._stream)
        app.router.add_get(VOICES_PATH, self._voices)

    async def stop(self) -> None:
        """Close every session (as the server's doing, not the client's) and stop."""
        self._stopping = True
        try:
            await super().stop()
        finally:
            self._stopping = False

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        config = copy.copy(self.config)
        try:
            settings = self._check_upgrade(request, config)
        except _UpgradeError as err:
            self.rejections.append((err.status, err.detail))
            return web.json_response(
                error_body(err.status, err.detail), status=err.status
            )
        async with self.websocket(request) as ws:
            record = TelnyxSessionRecord(
                query=dict(request.query),
                voice=settings.voice,
                audio_format=settings.audio_format,
                sample_rate=settings.sample_rate,
                inactivity_timeout=settings.inactivity_timeout,
            )
            async with self.recording(record):
                await _TelnyxSession(
                    request, ws, record, config, settings, lambda: self._stopping
                ).run()
        return ws

    # Upgrade checks

    def _check_upgrade(
        self, request: web.Request, config: TelnyxEmulatorConfig
    ) -> _Settings:
        if (refusal := _auth_refusal(request, config)) is not None:
            raise _UpgradeError(401, refusal)
        query = request.query
        voice = self._check_voice(query, config)
        audio_format = query.get("audio_format", "mp3")
        if audio_format in UNSUPPORTED_AUDIO_FORMATS:
            raise _UpgradeError(
                400, f"audio_format '{audio_format}' is not supported by this emulator"
            )
        if audio_format not in AUDIO_FORMATS:
            raise _UpgradeError(400, f"Invalid audio_format '{audio_format}'")
        raw_rate = query.get("sample_rate", str(DEFAULT_SAMPLE_RATE))
        try:
            sample_rate = int(raw_rate)
        except ValueError:
            sample_rate = 0
        if sample_rate not in SAMPLE_RATES:
            raise _UpgradeError(
                400,
                f"sample_rate must be one of {list(SAMPLE_RATES)}, got '{raw_rate}'",
            )
        if audio_format == "mp3" and sample_rate > MP3_MAX_SAMPLE_RATE:
            raise _UpgradeError(
                400, f"sample_rate {sample_rate} is not available for mp3; use linear16"
            )
        raw_timeout = query.get("inactivity_timeout")
        timeout = config.idle_timeout
        if raw_timeout is not None:
            try:
                timeout = float(raw_timeout)
            except ValueError:
                timeout = 0.0
            if not (math.isfinite(timeout) and timeout > 0):
                raise _UpgradeError(
                    400,
                    f"inactivity_timeout must be a positive number of seconds, got '{raw_timeout}'",
                )
        return _Settings(voice, audio_format, sample_rate, timeout)

    @staticmethod
    def _check_voice(query: Mapping[str, str], config: TelnyxEmulatorConfig) -> str:
        voice = query.get("voice")
        if voice is None and query.get("voice_id"):
            # Without `voice`, the separate parameters name the same compound id.
            parts = [query.get("provider", "telnyx")]
            if query.get("model_id"):
                parts.append(query["model_id"])
            parts.append(query["voice_id"])
            voice = ".".join(parts)
        if not voice:
            raise _UpgradeError(
                400, "A voice is required, e.g. voice=Telnyx.NaturalHD.astra"
            )
        parts = voice.split(".")
        if len(parts) not in (2, 3) or not all(_VOICE_PART.fullmatch(p) for p in parts):
            raise _UpgradeError(
                400,
                f"Invalid voice format '{voice}': expected Provider.Model.VoiceId or provider.voice_id",
            )
        if len(parts) == 3 and parts[1].casefold() == "ultra":
            raise _UpgradeError(
                403,
                "Ultra voices are not available over WebSocket; use the REST endpoint",
            )
        key = _voice_key(voice)
        if not any(
            _voice_key(str(v.get("voice_id", ""))) == key for v in config.voices
        ):
            raise _UpgradeError(400, f"Voice '{voice}' was not found")
        return voice

    # REST

    def _rest_refusal(self, request: web.Request) -> web.Response | None:
        if (status := self.config.rest_status_override) is not None:
            return web.json_response(
                error_body(status, f"emulated HTTP {status}"), status=status
            )
        if (refusal := _auth_refusal(request, self.config)) is not None:
            return web.json_response(error_body(401, refusal), status=401)
        return None

    async def _voices(self, request: web.Request) -> web.Response:
        if (refusal := self._rest_refusal(request)) is not None:
            return refusal
        provider = request.query.get("provider")
        voices = [
            voice
            for voice in self.config.voices
            if provider is None
            or str(voice.get("provider", "")).casefold() == provider.casefold()
        ]
        return web.json_response({"voices": voices})


def _auth_refusal(request: web.Request, config: TelnyxEmulatorConfig) -> str | None:
    """Return why the request's bearer key is refused, or None when it is fine."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return "Could not understand the provided credentials."
    if not config.key_ok(key.strip()):
        return "The API key you provided is invalid."
    return None


@dataclass(frozen=True, slots=True)
class _Command:
    kind: Literal["handshake", "text", "flush", "force", "finish", "error"]
    text: str = ""


class _TelnyxSession:
    """One WebSocket session: a reader (this task) and a speaking worker."""

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        record: TelnyxSessionRecord,
        config: TelnyxEmulatorConfig,
        settings: _Settings,
        emulator_stopping: Callable[[], bool],
    ) -> None:
        self.request = request
        self.emulator_stopping = emulator_stopping
        self.ws = ws
        self.record = record
        self.config = config
        self.settings = settings
        self.queue: asyncio.Queue[_Command] = asyncio.Queue()
        # Reader side: the handshake has been read (later " " are keep-alives).
        self.handshake_read = False
        # Worker side: the handshake has been processed, so speaking may start.
        self.ready = False
        # Forces read but not yet processed: the worker drops queued text and
        # stops speaking while any is pending, so nothing from before a force
        # is spoken after the client asked for it.
        self.pending_forces = 0
        self.buffer = ""
        self.server_closing = False
        self.final_was_last = False
        self.first_audio_sent = False
        self.encoder = (
            synth.Mp3StreamEncoder(settings.sample_rate, config.mp3_kbps)
            if settings.audio_format == "mp3"
            else None
        )
        self.pacer = synth.Pacer(config.speed)
        self.worker: asyncio.Task[None] | None = None

    async def run(self) -> None:
        self.worker = asyncio.create_task(self._guarded_work())
        shutdown = False
        try:
            await self._read()
        except asyncio.CancelledError:
            shutdown = True
            raise
        finally:
            # stop() closes every socket before it cancels the handlers.
            shutdown = shutdown or self.emulator_stopping()
            if not self.server_closing and not shutdown:
                self.record.client_closed = True
            # A server-side close (end of input, error) completes by itself;
            # anything else leaves nobody to speak to.
            if shutdown or not self.server_closing:
                self.worker.cancel()
            await asyncio.gather(self.worker, return_exceptions=True)

    # Reading

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        timeout = self.settings.inactivity_timeout
        deadline = loop.time() + timeout
        while True:
            # After end of input the server closes by itself; nothing to wait for.
            idle = not self.record.finished
            remaining = deadline - loop.time()
            if idle and remaining <= 0:
                await self._idle_close()
                return
            try:
                message = await self.ws.receive(timeout=remaining if idle else None)
            except TimeoutError:
                await self._idle_close()
                return
            if message.type is WSMsgType.TEXT:
                if self._parse(message.data):
                    deadline = loop.time() + timeout
            elif message.type is WSMsgType.BINARY:
                self.queue.put_nowait(
                    _Command("error", "binary messages are not accepted; send JSON")
                )
                deadline = loop.time() + timeout
            else:  # CLOSE, CLOSING, CLOSED or ERROR: the connection is over
                return

    def _parse(self, data: str) -> bool:
        """Queue the commands of one client frame; return whether it resets idle."""
        try:
            message = json.loads(data)
        except ValueError:
            self.queue.put_nowait(_Command("error", "messages must be JSON"))
            return True
        if not isinstance(message, dict):
            self.queue.put_nowait(_Command("error", "messages must be JSON objects"))
            return True
        record = self.record
        record.messages.append(message)
        force = message.get("force") is True
        text = message.get("text")
        if force:
            record.forces += 1
            self.pending_forces += 1
            self.queue.put_nowait(_Command("force"))
        if text is None:
            if not force:
                self.queue.put_nowait(_Command("error", "text is required"))
            return True
        if not isinstance(text, str):
            self.queue.put_nowait(_Command("error", "text must be a string"))
            return True
        if text == "":
            # The SDK's types require `text`, so {"text": "", "force": true}
            # is an interrupt with filler, not the end of input.
            if not force:
                record.finished = True
                self.queue.put_nowait(_Command("finish"))
            return True
        resets = True
        if text == HANDSHAKE_TEXT and not self.handshake_read:
            self.handshake_read = True
            record.handshake = True
            settings = message.get("voice_settings")
            record.voice_settings = settings if isinstance(settings, dict) else None
            self.queue.put_nowait(_Command("handshake"))
        elif text == HANDSHAKE_TEXT:
            # A keep-alive: its space still separates the words around it.
            record.keepalives += 1
            resets = self.config.keepalive_resets_idle
            self.queue.put_nowait(_Command("text", text))
        else:
            record.text_parts.append(text)
            self.queue.put_nowait(_Command("text", text))
        if message.get("flush") is True:
            record.flushes += 1
            self.queue.put_nowait(_Command("flush"))
        return resets

    async def _idle_close(self) -> None:
        if self.server_closing:
            return  # the worker is already ending the session
        _LOGGER.debug(
            "session closes after %.1f s idle", self.settings.inactivity_timeout
        )
        self.server_closing = True
        self.record.timed_out = True
        if self.worker is not None:
            self.worker.cancel()
            await asyncio.gather(self.worker, return_exceptions=True)
        self.record.close_code = WSCloseCode.OK
        await self.ws.close(code=WSCloseCode.OK, message=IDLE_CLOSE_REASON.encode())

    # Speaking

    async def _guarded_work(self) -> None:
        try:
            await self._work()
        except ConnectionError:
            _LOGGER.debug("client went away during a session")
        except Exception:
            _LOGGER.exception("session failed")
            self.server_closing = True
            self.record.close_code = WSCloseCode.INTERNAL_ERROR
            await self.ws.close(code=WSCloseCode.INTERNAL_ERROR)

    async def _work(self) -> None:
        while True:
            command = await self.queue.get()
            match command.kind:
                case "handshake":
                    self.ready = True
                    # Early text that a pending force drops is never spoken.
                    if self.pending_forces:
                        continue
                    if not await self._speak_sentences():
                        return
                case "text":
                    if self.pending_forces:
                        continue
                    self.buffer += command.text
                    if not await self._speak_sentences():
                        return
                case "flush":
                    if not self.pending_forces and not await self._speak_buffer():
                        return
                case "force":
                    self.pending_forces -= 1
                    self.buffer = ""
                case "finish":
                    await self._finish()
                    return
                case "error":
                    await self._fail(command.text, WSCloseCode.POLICY_VIOLATION)
                    return

    async def _finish(self) -> None:
        """End of input: speak the rest, make sure a final frame ends it, close."""
        if self.pending_forces:
            self.buffer = ""  # a force arrived after the end of input
        if not await self._speak_buffer():
            return
        if not self.final_was_last:
            await self._send_final()
        if not self.config.close_after_end:
            return
        self.server_closing = True
        self.record.close_code = WSCloseCode.OK
        await self.ws.close(code=WSCloseCode.OK)

    async def _speak_sentences(self) -> bool:
        """Speak the buffer up to its last complete sentence."""
        end = sentence_end(self.buffer)
        if not self.ready or not end:
            return True
        segment, self.buffer = self.buffer[:end], self.buffer[end:]
        return await self._speak(segment)

    async def _speak_buffer(self) -> bool:
        """Speak the whole buffer (flush and end of input)."""
        if not self.ready:
            # Without the handshake no audio is produced; the text waits.
            return True
        segment, self.buffer = self.buffer, ""
        return await self._speak(segment)

    def _interrupted(self) -> bool:
        return self.pending_forces > 0

    async def _speak(self, segment: str) -> bool:
        """Send the audio of `segment`; False when a fault ended the session."""
        if not segment.strip():
            return True  # whitespace, e.g. trailing keep-alives: nothing to say
        loop = asyncio.get_running_loop()
        requested = loop.time()
        self.record.segments.append(segment)
        if self.config.first_audio_latency > 0:
            await asyncio.sleep(self.config.first_audio_latency)
        rate = self.settings.sample_rate
        pcm = synth.synthesize_pcm(segment, rate)
        pieces = synth.chunk_pcm(pcm, rate, self.config.chunk_seconds)
        self.pacer.restart()
        unsent = 0.0  # seconds of audio encoded but not yet sent
        for index, piece in enumerate(pieces):
            if self._interrupted():
                return self._abandon(segment)
            unsent += len(piece) / 2 / rate
            payload = piece if self.encoder is None else self.encoder.encode(piece)
            if self.encoder is None and self.config.linear16_wav_headers:
                payload = wav_file(piece, rate)
            if index == len(pieces) - 1 and self.encoder is not None:
                payload += self.encoder.flush()
            if not payload:
                # The MP3 encoder is still filling a frame: no time passes on
                # the wire, so the first audio comes right after the latency.
                continue
            await self.pacer.wait(unsent)
            unsent = 0.0
            if self._interrupted():
                return self._abandon(segment)
            if not await self._send_chunk(payload, requested):
                return False
        if self.config.text_frames:
            await self._send_json(
                self._frame(
                    "audio_chunk",
                    {"audio": None, "text": segment, "isFinal": False, "cached": False},
                )
            )
            self.final_was_last = False
        if self.config.final_after_each_synthesis:
            await self._send_final()
        return True

    def _abandon(self, segment: str) -> bool:
        """Stop speaking `segment` because a force arrived."""
        if self.encoder is not None:
            # A fresh encoder drops what the interrupted segment left pending.
            self.encoder = synth.Mp3StreamEncoder(
                self.settings.sample_rate, self.config.mp3_kbps
            )
        self.record.interrupted.append(segment)
        return True

    async def _send_chunk(self, payload: bytes, requested: float) -> bool:
        config, record = self.config, self.record
        sent = record.chunks_sent
        if config.error_after_chunks is not None and sent >= config.error_after_chunks:
            await self._fail(AUDIO_ERROR, config.error_close_code)
            return False
        if config.drop_after_chunks is not None and sent >= config.drop_after_chunks:
            self._drop()
            return False
        if config.stall_after_chunks is not None and sent >= config.stall_after_chunks:
            _LOGGER.debug("session stalls after %d audio messages", sent)
            return False
        frame: dict[str, Any] = {
            "audio": base64.b64encode(payload).decode("ascii"),
            "text": None,
            "isFinal": False,
            "cached": False,
        }
        if not self.first_audio_sent:
            self.first_audio_sent = True
            elapsed = asyncio.get_running_loop().time() - requested
            frame["timeToFirstAudioFrameMs"] = round(elapsed * 1000)
        await self._send_json(self._frame("audio_chunk", frame))
        self.final_was_last = False
        record.chunks_sent += 1
        record.audio_bytes_sent += len(payload)
        return True

    # Replies

    def _frame(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.config.type_field:
            body["type"] = kind
        return body

    async def _send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def _send_final(self) -> None:
        await self._send_json(
            self._frame("final", {"audio": None, "isFinal": True, "text": ""})
        )
        self.final_was_last = True

    async def _fail(self, message: str, code: int) -> None:
        """Send one error frame, then close with `code`."""
        message = self.config.echoed(message, request_key(self.request))
        self.record.error = message
        self.server_closing = True
        try:
            await self._send_json(self._frame("error", {"error": message}))
        except ConnectionError:
            return
        self.record.close_code = code
        await self.ws.close(code=code)

    def _drop(self) -> None:
        """Close the TCP connection without a close frame, like a crashed server."""
        self.server_closing = True
        transport = self.request.transport
        if transport is not None:
            transport.close()


def wav_file(pcm: bytes, rate: int) -> bytes:
    """Wrap 16-bit mono samples in a complete WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return out.getvalue()
