"""Provider settings in Home Assistant: form fields, defaults, and reading requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    Selector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .compat import vol
from .const import MODEL_LABELS
from .speech import (
    SAMPLE_RATE,
    SPEED,
    OptionValue,
    ProviderOption,
    StreamingClient,
)


def choice_label(option: ProviderOption, value: OptionValue) -> str:
    """Return how a choice is shown in a dropdown."""
    if option.key == SAMPLE_RATE:
        return f"{value} Hz"
    return MODEL_LABELS.get(str(value), str(value))


def option_selector(option: ProviderOption) -> Selector[Any]:
    """Return the form field for one provider setting."""
    if option.choices:
        return SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(
                        value=str(choice), label=choice_label(option, choice)
                    )
                    for choice in option.choices
                ],
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
    config = NumberSelectorConfig(step=option.step, mode=NumberSelectorMode.SLIDER)
    if option.minimum is not None:
        config["min"] = option.minimum
    if option.maximum is not None:
        config["max"] = option.maximum
    return NumberSelector(config)


def option_fields(
    client: type[StreamingClient], current: Mapping[str, Any]
) -> dict[vol.Marker, Selector[Any]]:
    """Return a form's fields for every setting of a provider, filled in."""
    fields: dict[vol.Marker, Selector[Any]] = {}
    for option in client.options:
        value = current.get(option.key, option.default)
        default = str(value) if option.choices else value
        fields[vol.Required(option.key, default=default)] = option_selector(option)
    return fields


def option_defaults(
    client: type[StreamingClient], configured: Mapping[str, Any]
) -> dict[str, OptionValue]:
    """Return every setting's configured value, or the provider's default."""
    return {
        option.key: configured.get(option.key, option.default)
        for option in client.options
    }


def parse_options(
    client: type[StreamingClient], values: Mapping[str, Any]
) -> dict[str, OptionValue]:
    """Return the provider's settings found in ``values``, each in its type.

    Raises InvalidOptionError naming the first setting that is not allowed.
    """
    parsed: dict[str, OptionValue] = {}
    for option in client.options:
        if option.key not in values:
            continue
        try:
            parsed[option.key] = option.parse(values[option.key])
        except ValueError as err:
            raise InvalidOptionError(option.key, values[option.key], str(err)) from None
    return parsed


def synthesis_settings(
    parsed: Mapping[str, OptionValue],
) -> tuple[float | None, int | None, dict[str, OptionValue]]:
    """Split parsed settings into (speed, PCM sample rate, provider extras)."""
    extra = dict(parsed)
    speed = extra.pop(SPEED, None)
    sample_rate = extra.pop(SAMPLE_RATE, None)
    return (
        None if speed is None else float(speed),
        None if sample_rate is None else int(sample_rate),
        extra,
    )


class InvalidOptionError(ValueError):
    """A provider setting with a value it does not allow."""

    def __init__(self, key: str, value: object, reason: str) -> None:
        """Name the setting, the value and why it is refused."""
        super().__init__(reason)
        self.key = key
        self.value = value
        self.reason = reason
