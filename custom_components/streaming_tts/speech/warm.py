"""A provider connection opened before its text: connected, authenticated, configured.

An Assist pipeline asks for speech only once the agent has written enough of its
answer; opening the connection when the satellite starts listening takes the
handshake (TLS, WebSocket, the provider's own set-up) out of the time to the
first word. The connection then waits for an answer to take it. While it
waits, a watcher reads it, so that pings are answered and a close by the
provider is noticed at once; such a connection is dropped, and the answer opens
a fresh one as it would have without. What the provider says before the text
(a ready message) is kept for the answer. Unused, it closes after ``keep``
seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
import contextlib
import logging
from typing import Any

import aiohttp

from .models import SynthesisOptions
from .websocket_answer import WebSocketAnswer

_LOGGER = logging.getLogger(__name__)


class WarmConnection:
    """One connection for ``options``, opening or open, until an answer takes it."""

    def __init__(
        self,
        options: SynthesisOptions,
        opening: Coroutine[Any, Any, WebSocketAnswer],
        *,
        provider: str,
        keep: float,
    ) -> None:
        """Start opening at once; close after ``keep`` seconds unless taken."""
        self.options = options
        self._provider = provider
        self._opening: asyncio.Task[WebSocketAnswer] = asyncio.create_task(
            opening, name=f"{provider} warm connection"
        )
        self._opening.add_done_callback(self._opened)
        self._watch: asyncio.Task[None] | None = None
        self._ended = False  # the provider closed it before any text
        self._done = False  # taken by an answer, or closed
        self._closing: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(keep, self._expire)

    @property
    def done(self) -> bool:
        """Return whether it was taken or closed (it can be neither again)."""
        return self._done

    def _opened(self, task: asyncio.Task[WebSocketAnswer]) -> None:
        if self._done or task.cancelled() or task.exception() is not None:
            return
        self._watch = asyncio.create_task(
            self._watch_idle(task.result()), name=f"{self._provider} warm watcher"
        )

    async def _watch_idle(self, answer: WebSocketAnswer) -> None:
        """Return once the provider closes the connection (or it breaks)."""
        try:
            how = (await answer.wait_idle()).type.name
        except (aiohttp.ClientError, OSError) as err:  # a keep-alive found it broken
            how = type(err).__name__
        self._ended = True
        _LOGGER.debug(
            "%s: the warm connection ended before its text (%s)", self._provider, how
        )

    def _expire(self) -> None:
        if not self._done:
            _LOGGER.debug(
                "%s: the warm connection was not used in time", self._provider
            )
            self._closing = asyncio.create_task(self.close())

    async def take(self) -> WebSocketAnswer | None:
        """Return the open connection for an answer, or None if it cannot serve one.

        A connection still opening is waited for: it is further along than a
        fresh one would be (its own connect deadline bounds the wait).
        """
        if self._done:
            return None
        self._done = True
        self._expiry.cancel()
        try:
            await asyncio.wait((self._opening,))
        except asyncio.CancelledError:
            # The answer was given up while this was still opening.
            self._closing = asyncio.create_task(self._close_now())
            raise
        opening = self._opening
        if opening.cancelled() or (error := opening.exception()) is not None:
            if not opening.cancelled():
                _LOGGER.debug(
                    "%s: the warm connection failed: %s", self._provider, error
                )
            return None
        answer = opening.result()
        await self._stop_watching()
        if self._ended:
            await answer.close()
            return None
        _LOGGER.debug("%s: using the warm connection", self._provider)
        return answer

    async def close(self) -> None:
        """Close it, unless an answer took it; safe to call more than once."""
        if self._done:
            return
        self._done = True
        await self._close_now()

    async def _close_now(self) -> None:
        self._expiry.cancel()
        opening = self._opening
        opening.cancel()
        await self._stop_watching()
        await asyncio.wait((opening,))
        # A failure to open was the provider's to report to an answer; there is none.
        if not opening.cancelled() and opening.exception() is None:
            await opening.result().close()

    async def _stop_watching(self) -> None:
        watch = self._watch
        if watch is not None and not watch.done():
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
