"""What a run measured, and the figures derived from it."""

from __future__ import annotations

from dataclasses import dataclass, field
import statistics


@dataclass
class Run:
    """One answer through one strategy: when text went in and audio came out."""

    strategy: str
    rate: float
    start: float  # the first token, t = 0
    floor: float  # the provider's earliest possible first audio, from t = 0
    token_times: list[float] = field(default_factory=list)
    chunks: list[tuple[float, int, float]] = field(default_factory=list)  # t, bytes, s

    @property
    def first_audio(self) -> float:
        """Seconds from the first token to the first audio byte at the player."""
        return self.chunks[0][0] - self.start

    @property
    def overhead(self) -> float:
        """Seconds above the floor."""
        return self.first_audio - self.floor

    @property
    def total(self) -> float:
        """Seconds from the first token to the last audio byte."""
        return self.chunks[-1][0] - self.start

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio received."""
        return sum(seconds for _, _, seconds in self.chunks)

    @property
    def gaps(self) -> float:
        """Silence a player inserts: it starts at the first byte, plays in real time."""
        silence = 0.0
        playing_until = self.chunks[0][0]
        for arrived, _, seconds in self.chunks:
            if arrived > playing_until:
                silence += arrived - playing_until
                playing_until = arrived
            playing_until += seconds
        return silence


def median(values: list[float]) -> float:
    """Return the median."""
    return statistics.median(values)


def percentile(values: list[float], share: float) -> float:
    """Return the ``share`` quantile (0..1), linearly interpolated."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
