"""The settings users choose for a provider (speed, model, pitch...), parsed once.

A provider module declares each setting as a :class:`ProviderOption`, with
its default, its allowed values and how they are shown. Form fields and
service calls hand in values as text or numbers; :func:`parse_settings` turns
them into :class:`Settings`, the typed values the provider receives inside
``SynthesisOptions``, or raises :class:`SpeechSettingError` naming the setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import contextlib
from dataclasses import dataclass, field
import math
from typing import Final

from .errors import SpeechSettingError

#: The key of the speed setting (1 is the voice's normal pace).
SPEED: Final = "speed"
#: The key of the PCM sample rate setting (the rate the stream is made at).
SAMPLE_RATE: Final = "sample_rate"
#: The key of the speech model setting.
MODEL: Final = "model"

type OptionValue = str | int | float


@dataclass(frozen=True, slots=True)
class ProviderOption:
    """A setting of one provider that users may choose (a model, a speed, a pitch).

    Either ``choices`` (the allowed values, shown by ``labels``, keyed by
    the value as text, or with ``unit``) or a ``minimum``..``maximum`` range. ``models`` names the
    models that take the setting, and ``voices`` the voice families, where only some do.
    """

    key: str
    default: OptionValue
    choices: tuple[OptionValue, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: float = 0.05
    labels: Mapping[str, str] = field(default_factory=dict)
    unit: str | None = None
    models: tuple[str, ...] = ()
    voices: tuple[str, ...] = ()

    def parse(self, value: object) -> OptionValue:
        """Return ``value`` as this option's type; raise ValueError if not allowed.

        Values may come as text (from a form or a service call).
        """
        if self.choices:
            for choice in self.choices:
                if str(value).strip() == str(choice):
                    return choice
            raise ValueError(
                f"{self.key} must be one of {', '.join(map(str, self.choices))}"
            )
        number = math.nan
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            with contextlib.suppress(ValueError):
                number = float(value)
        if math.isnan(number):
            raise ValueError(f"{self.key} must be a number")
        low = self.minimum if self.minimum is not None else float("-inf")
        high = self.maximum if self.maximum is not None else float("inf")
        if not low <= number <= high:
            raise ValueError(f"{self.key} must be between {low:g} and {high:g}")
        return number

    def label(self, value: OptionValue) -> str:
        """Return how a value is shown to users (a product name, a unit)."""
        if (label := self.labels.get(str(value))) is not None:
            return label
        return f"{value} {self.unit}" if self.unit else str(value)


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings chosen for one synthesis, each in its type.

    Made by :func:`parse_settings`; a setting not chosen takes the option's
    default where the provider reads it (:meth:`value`).
    """

    chosen: Mapping[str, OptionValue] = field(default_factory=dict)

    def value(self, option: ProviderOption) -> OptionValue:
        """Return the value chosen for ``option``, or its default."""
        return self.chosen.get(option.key, option.default)

    @property
    def speed(self) -> float | None:
        """Return the chosen speed, or None where none was chosen."""
        speed = self.chosen.get(SPEED)
        return None if speed is None else float(speed)

    @property
    def sample_rate(self) -> int | None:
        """Return the chosen PCM sample rate, or None where none was chosen."""
        rate = self.chosen.get(SAMPLE_RATE)
        return None if rate is None else int(rate)


def parse_settings(
    provider: str, options: Iterable[ProviderOption], values: Mapping[str, object]
) -> Settings:
    """Return the settings of ``options`` found in ``values``, each in its type.

    Other keys (a voice, a language, a form's name) are not settings and are
    left alone. Raises SpeechSettingError naming the first value not allowed.
    """
    chosen: dict[str, OptionValue] = {}
    for option in options:
        if option.key not in values:
            continue
        value = values[option.key]
        try:
            chosen[option.key] = option.parse(value)
        except ValueError as err:
            raise SpeechSettingError(provider, option.key, value, str(err)) from None
    return Settings(chosen)
