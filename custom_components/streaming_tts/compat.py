"""What differs between the Home Assistant versions the integration supports."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Final

from homeassistant.components import tts
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.helpers import device_registry as dr

#: From 2026.11, Home Assistant converts only for the format hints an engine
#: does not list in ``supported_options``, so an engine that produces what was
#: asked is not converted at all; and a streaming WAV reaches ffmpeg as raw PCM
#: with a tiny probe. Before, any rate, channel or sample-size hint meant ffmpeg.
TRUSTS_ENGINE_FORMAT: Final = (MAJOR_VERSION, MINOR_VERSION) >= (2026, 11)

#: The format hints this Home Assistant passes (2026.9 added preferred_bitrate).
FORMAT_HINTS: Final = tuple(
    getattr(tts, name)
    for name in (
        "ATTR_PREFERRED_FORMAT",
        "ATTR_PREFERRED_SAMPLE_RATE",
        "ATTR_PREFERRED_SAMPLE_CHANNELS",
        "ATTR_PREFERRED_SAMPLE_BYTES",
        "ATTR_PREFERRED_BITRATE",
    )
    if hasattr(tts, name)
)

#: 2026.x gives a device exactly one entry and subentry and moves it with
#: ``new_config_subentry_id``; 2025.12 adds and removes subentries instead.
MOVES_DEVICES_BETWEEN_SUBENTRIES: Final = (
    "new_config_subentry_id"
    in inspect.signature(dr.DeviceRegistry.async_update_device).parameters
)

# 2026.x validates forms with probatio (and aliases ``voluptuous`` to it);
# 2025.12 has only voluptuous. Their schema API is the same.
if TYPE_CHECKING:
    import probatio as vol
else:
    try:
        import probatio as vol
    except ImportError:
        import voluptuous as vol

__all__ = ["vol"]
