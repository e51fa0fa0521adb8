"""Figures of the fault and load suite, printed as one line at the end of a run.

Tests record what they saw before asserting on it, so the line also tells
how far a failing run got.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Scoreboard:
    """Counts of the fault suite's checks."""

    faults: int = 0
    faults_clean: int = 0
    inputs: int = 0
    inputs_clean: int = 0
    full_texts: int = 0
    words_lost: int = 0
    key_leaks: int = 0
    load: int = 0
    load_complete: int = 0
    slowest: list[float] = field(default_factory=list)

    def fault(self, *, clean: bool) -> None:
        """Count one fault case."""
        self.faults += 1
        self.faults_clean += clean

    def input(self, *, clean: bool) -> None:
        """Count one bad input."""
        self.inputs += 1
        self.inputs_clean += clean

    def full_text(self, *, complete: bool) -> None:
        """Count one full text; an incomplete one lost words."""
        self.full_texts += 1
        self.words_lost += not complete

    def leaks(self, count: int) -> None:
        """Count places the API key was found in."""
        self.key_leaks += count

    def loaded(self, total: int, complete: int, slowest: float) -> None:
        """Count one run of concurrent requests."""
        self.load += total
        self.load_complete += complete
        self.slowest.append(slowest)

    @property
    def used(self) -> bool:
        """Return whether any check was recorded."""
        return bool(self.faults or self.inputs or self.full_texts or self.load)

    def line(self) -> str:
        """Return the summary line."""
        slowest = f"{max(self.slowest):.2f} s" if self.slowest else "n/a"
        return (
            f"fault suite: faults clean {self.faults_clean}/{self.faults}, "
            f"inputs clean {self.inputs_clean}/{self.inputs}, "
            f"words lost {self.words_lost} in {self.full_texts} full texts, "
            f"key leaks {self.key_leaks}, "
            f"load {self.load_complete}/{self.load} complete (slowest {slowest})"
        )


SCOREBOARD = Scoreboard()
