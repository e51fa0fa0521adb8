"""The text side of one answer: text in whole words to the provider, as it is written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
import contextlib
import json
import logging
from typing import Literal

import aiohttp

from .contract import WireProtocol
from .errors import SpeechNoTextError
from .events import JSONMessage
from .models import FlushPolicy
from .text import TextFragment, text_fragments
from .timeline import Timeline

_LOGGER = logging.getLogger(__name__)


class TextPump:
    """Sends the text as it is written, in whole words, and asks for speech.

    A flush goes at every sentence end, and as the client's flush policy says:
    the first few words at once, and more words whenever the player would
    otherwise run out of audio. The pump wakes for new text, for a flush or a
    keep-alive that falls due, and when the provider has answered a flush.
    """

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        protocol: WireProtocol,
        timeline: Timeline,
        policy: FlushPolicy,
        send_deadline: float,
    ) -> None:
        """Send on ``ws`` in ``protocol``'s words, noting requests in ``timeline``."""
        self._ws = ws
        self._protocol = protocol
        self._timeline = timeline
        self._policy = policy
        self._send_deadline = send_deadline
        self._loop = asyncio.get_running_loop()
        self._sent = 0  # characters sent
        self._unflushed = 0  # characters sent since the last flush
        self._first_text_at: float | None = None
        self._started = self._last_sent_at = self._loop.time()  # just set up

    async def run(self, text: AsyncIterable[str]) -> None:
        """Pump until the text ends, then send the finish."""
        fragments = text_fragments(text, max_chars=self._protocol.max_text_chars)
        upcoming: asyncio.Future[TextFragment | None] | None = None
        answered: asyncio.Future[Literal[True]] | None = None
        try:
            while True:
                if upcoming is None:
                    upcoming = asyncio.ensure_future(anext(fragments, None))
                if answered is None:
                    self._timeline.changed.clear()
                    answered = asyncio.ensure_future(self._timeline.changed.wait())
                await asyncio.wait(
                    (upcoming, answered),
                    timeout=self._wait(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if answered.done():
                    answered = None
                if not upcoming.done():
                    await self._flush_if_due()
                    await self._keepalive_if_due()
                    continue
                fragment, upcoming = upcoming.result(), None
                if fragment is None:
                    break
                await self._send_fragment(fragment)
            await self._finish()
        finally:
            for waiting in (upcoming, answered):
                if waiting is not None and not waiting.done():
                    waiting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiting
            await fragments.aclose()

    def _due(self) -> float | None:
        """Return when the words sent but not flushed must be flushed, if ever.

        A refill waits for a few words (a one-word segment sounds choppy)
        unless waiting longer would leave the player silent.
        """
        if not self._unflushed or self._first_text_at is None:
            return None
        if self._sent == self._unflushed:  # nothing flushed yet
            return self._first_text_at + self._policy.first_wait
        margin = self._policy.refill_margin
        if margin is None or (until := self._timeline.playing_until()) is None:
            return None
        last_moment = until - self._timeline.latency
        enough = self._unflushed >= (self._policy.first_chars or 0)
        return last_moment - margin if enough else last_moment

    def _keepalive_due(self) -> float | None:
        interval = self._protocol.keepalive_interval
        return None if interval is None else self._last_sent_at + interval

    def _wait(self) -> float | None:
        dues = [due for due in (self._due(), self._keepalive_due()) if due is not None]
        return max(0.0, min(dues) - self._loop.time()) if dues else None

    async def _send_fragment(self, fragment: TextFragment) -> None:
        if self._first_text_at is None:
            self._first_text_at = self._loop.time()
        first_chars = self._policy.first_chars
        sent = self._sent + len(fragment.text)
        first_words_ready = (
            first_chars is not None
            and self._sent == self._unflushed
            and sent >= first_chars
        )
        self._sent = sent
        self._unflushed += len(fragment.text)
        if fragment.sentence_end or first_words_ready:
            self._asked()
            await self._send(self._protocol.text_and_flush(fragment.text))
        else:
            await self._send(self._protocol.text(fragment.text))
            await self._flush_if_due()

    async def _send(self, messages: list[JSONMessage]) -> None:
        if not messages:
            return
        async with asyncio.timeout(self._send_deadline):
            for message in messages:
                await self._ws.send_str(json.dumps(message))
        self._last_sent_at = self._loop.time()

    async def _keepalive_if_due(self) -> None:
        due = self._keepalive_due()
        if due is not None and self._loop.time() >= due:
            await self._send(self._protocol.keepalive())

    async def _flush_if_due(self) -> None:
        due = self._due()
        if due is not None and self._loop.time() >= due:
            await self._flush()

    def _asked(self) -> None:
        # Marked before sending: a fast provider may answer first.
        self._timeline.asked()
        _LOGGER.debug(
            "%s: flush after %d characters (%d new), %.0f ms after the connection",
            self._protocol.provider,
            self._sent,
            self._unflushed,
            (self._loop.time() - self._started) * 1000,
        )
        self._unflushed = 0

    async def _flush(self) -> None:
        self._asked()
        await self._send(self._protocol.flush())

    async def _finish(self) -> None:
        if not self._sent:
            raise SpeechNoTextError(
                "there is no text to speak (empty, or only markup and emoji)",
                provider=self._protocol.provider,
            )
        # Marked before sending: the provider may close before send returns.
        unflushed = self._unflushed > 0
        self._timeline.asked(finish=True, speaks=unflushed)
        _LOGGER.debug(
            "%s: end of text after %d characters, %.0f ms after the connection",
            self._protocol.provider,
            self._sent,
            (self._loop.time() - self._started) * 1000,
        )
        self._unflushed = 0
        await self._send(self._protocol.finish(unflushed=unflushed))
