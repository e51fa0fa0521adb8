"""What one answer owes and has received: the deadlines and the end of the answer."""

from __future__ import annotations

import asyncio
from typing import Final

from .audio import AudioClock
from .events import AudioChunk, Completion, FlushDone, ProviderEvent
from .models import AudioFormat, Deadlines

# Assumed flush -> first audio before the provider has shown its own.
INITIAL_LATENCY: Final = 0.5
# Shortest silence after the last expected answer that ends the stream.
MIN_SETTLE: Final = 0.15


class Timeline:
    """What the provider owes, what the player has queued, and the deadlines.

    A deadline runs only while audio is owed (a flush or the finish was sent and
    not yet answered): waiting for the writer's next sentence is not a fault.
    The audio received so far tells until when a player that started at the
    first byte stays busy, which the flush policy uses to avoid silences.

    The end of an answer: a provider's own end message (StreamDone) or a
    normal close after the finish end it at once. A Completion or FlushDone
    after the finish may be the last answer or not (providers differ in how
    many they send), so it ends the answer only once a short silence follows
    it; the silence waited for is short when every request has been answered
    and longer when fewer answers than requests came. Audio cancels it.
    """

    def __init__(
        self,
        deadlines: Deadlines,
        audio_format: AudioFormat,
        *,
        acks_flushes: bool,
        counts_answers: bool = True,
    ) -> None:
        """Start an answer: nothing asked yet, no deadline running."""
        self._deadlines = deadlines
        self._acks_flushes = acks_flushes
        self._counts_answers = counts_answers
        self._loop = asyncio.get_running_loop()
        self.pending_flushes = 0
        # A flush that is never answered owes at least its first audio.
        self.awaiting_audio = False
        self.finished = False
        self.requests = 0  # flushes, and a finish that speaks the rest
        self.answers = 0  # FlushDone and Completion events
        self.deadline: float | None = None
        # When a silence after a possibly last answer ends the stream.
        self.quiet_end: float | None = None
        self.timeout: asyncio.Timeout | None = None
        self.clock = AudioClock(audio_format)
        self.first_audio_at: float | None = None
        self.observed_latency: float | None = None  # flush -> first audio
        self._flush_sent_at: float | None = None
        self.changed = asyncio.Event()  # a flush was answered

    @property
    def owed(self) -> bool:
        """Return whether the provider owes audio (a deadline runs)."""
        return self.pending_flushes > 0 or self.finished or self.awaiting_audio

    def asked(self, *, finish: bool = False, speaks: bool = True) -> None:
        """Note that a flush or the finish (speaking the rest or not) was sent."""
        now = self._loop.time()
        if not self.owed and speaks:
            self._flush_sent_at = now  # an idle provider: its answer shows its latency
        if speaks:
            self.requests += 1
            if self._acks_flushes:
                self.pending_flushes += 1
            else:
                self.awaiting_audio = True
        if finish:
            self.finished = True
            if self.all_answered:
                # Everything was answered before the end: nothing more will come.
                self.quiet_end = now + self._settle()
        if self.deadline is None:
            self._set(now + self._deadlines.first_audio)
        else:
            self._set(self.deadline)

    def heard(self, event: ProviderEvent) -> None:
        """Note that the provider sent something."""
        now = self._loop.time()
        if isinstance(event, AudioChunk) and event.data:
            self.clock.feed(event.data)
            self.quiet_end = None
            if self.first_audio_at is None:
                self.first_audio_at = now
            if self._flush_sent_at is not None:
                latency = now - self._flush_sent_at
                self.observed_latency = max(self.observed_latency or 0.0, latency)
                self._flush_sent_at = None
            if self.awaiting_audio:
                self.awaiting_audio = False
                self.changed.set()
        elif isinstance(event, (FlushDone, Completion)):
            self.answers += 1
            if isinstance(event, FlushDone) and self._acks_flushes:
                self.pending_flushes = max(0, self.pending_flushes - 1)
                self.changed.set()
            if self.finished:
                self.quiet_end = now + self._settle()
        self._set(now + self._deadlines.chunk_gap if self.owed else None)

    @property
    def all_answered(self) -> bool:
        """Return whether the text has ended and every request was answered."""
        return (
            self._counts_answers
            and self.finished
            and self.requests > 0
            and self.answers >= self.requests
        )

    def _settle(self) -> float:
        """Return how long a silence after an answer proves it was the last.

        Twice the provider's latency covers a next sentence that was already
        queued; the longer wait covers answers that come once per sentence or
        once at the end, whichever the provider does.
        """
        latency = self.latency
        if self.all_answered:
            settle = max(MIN_SETTLE, 2 * latency)
        else:
            settle = max(self._deadlines.settle, 3 * latency)
        return min(settle, self._deadlines.chunk_gap)

    @property
    def latency(self) -> float:
        """Return how long the provider takes from a flush to its first audio."""
        return (
            INITIAL_LATENCY if self.observed_latency is None else self.observed_latency
        )

    def playing_until(self) -> float | None:
        """Return when a player that started at the first byte runs out, if known."""
        if self.first_audio_at is None or self.pending_flushes or self.awaiting_audio:
            return None  # nothing playing yet, or more audio is on its way
        return self.first_audio_at + self.clock.seconds

    @property
    def wake_at(self) -> float | None:
        """Return the next moment the audio side must act: a deadline or the end."""
        moments = [m for m in (self.deadline, self.quiet_end) if m is not None]
        return min(moments) if moments else None

    def _set(self, deadline: float | None) -> None:
        self.deadline = deadline
        if self.timeout is not None:
            self.timeout.reschedule(self.wake_at)
