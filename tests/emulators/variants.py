"""Every way a provider may end an answer that its public sources allow.

Each entry names a variant and the emulator settings that play it. Clients
are tested against all of them, since a real server (or another emulator)
may pick any.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import WSCloseCode

END_VARIANTS: Final[dict[str, dict[str, dict[str, Any]]]] = {
    "lmnt": {
        "close": {},
        "close_going_away": {"finish_close_code": WSCloseCode.GOING_AWAY},
        "stay_open": {"finish_close_code": None},
    },
    "smallest": {
        f"{completion}{'_close' if close else ''}": {
            "completion": completion,
            "close_after_complete": close,
        }
        for completion in ("end", "every_flush", "text_flush", "sentence")
        for close in (False, True)
    },
    "telnyx": {
        f"{'final_each' if each else 'final_once'}{'_close' if close else ''}": {
            "final_after_each_synthesis": each,
            "close_after_end": close,
        }
        for each in (True, False)
        for close in (True, False)
    },
    "sarvam": {
        mode: {"final_mode": mode}
        for mode in ("every_flush", "text_flush", "coalesced", "per_chunk")
    },
}


def variant_ids(provider: str) -> list[str]:
    """Return the names of a provider's variants, for parametrization."""
    return list(END_VARIANTS[provider])
