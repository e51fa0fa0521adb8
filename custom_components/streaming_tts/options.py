"""Provider settings in Home Assistant forms: their fields and defaults.

Reading them is the library's (StreamingClient.parse_settings).
"""

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
from .speech import OptionValue, ProviderOption, StreamingClient


def option_selector(option: ProviderOption) -> Selector[Any]:
    """Return the form field for one provider setting."""
    if option.choices:
        return SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(value=str(choice), label=option.label(choice))
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
