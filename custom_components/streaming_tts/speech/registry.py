"""Every provider the library speaks to, by the id stored in configuration.

Adding a provider: write its module (a StreamingClient subclass declaring
everything about it) and add its client here, one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .client import StreamingClient
from .lmnt import LmntClient
from .sarvam import SarvamClient
from .smallest import SmallestClient
from .telnyx import TelnyxClient

PROVIDERS: Final[Mapping[str, type[StreamingClient]]] = {
    client.provider_id: client
    for client in (
        LmntClient,
        SmallestClient,
        TelnyxClient,
        SarvamClient,
    )
}
