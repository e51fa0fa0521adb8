"""The text side: an LLM answer written as token deltas at a steady rate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from custom_components.streaming_tts.speech.text import clean_text

#: A five-sentence, ~500-character answer, as a conversation agent writes it.
ANSWER = (
    "The living room lights are on and set to a warm white at sixty percent brightness. "
    "The thermostat is holding twenty one degrees, and the heating will switch off at "
    "ten tonight unless someone is still at home. "
    "Tomorrow looks sunny with a high of twenty four degrees and a light breeze from the "
    "west. "
    "Your next calendar event is the dentist appointment at nine thirty in the morning. "
    "Would you like me to dim the lights or start the evening scene now?"
)
TOKEN_CHARS = 4


def tokens(text: str = ANSWER, size: int = TOKEN_CHARS) -> list[str]:
    """Split text into fixed-size deltas, words cut anywhere, as LLMs do."""
    return [text[start : start + size] for start in range(0, len(text), size)]


def first_word_token(parts: list[str]) -> int:
    """Return the index of the token that completes the first word."""
    written = ""
    for index, part in enumerate(parts):
        written += part
        if clean_text(written) and written[-1].isspace():
            return index
    return len(parts) - 1


@dataclass
class TokenFeed:
    """The writer: token k exists at ``start + k / rate``, whoever reads it when.

    A pipeline queues what the LLM writes, so a reader that comes late finds
    the tokens waiting; ``times`` records when each one was written.
    """

    parts: list[str]
    rate: float
    start: float
    times: list[float] = field(default_factory=list)

    async def __call__(self) -> AsyncGenerator[str]:
        """Write the answer."""
        loop = asyncio.get_running_loop()
        for index, part in enumerate(self.parts):
            due = self.start + index / self.rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
                due = loop.time()
            self.times.append(due)
            yield part
