"""Home Assistant language tags <-> a provider's own language codes."""

from __future__ import annotations

from collections.abc import Iterable

from .const import REGIONS


def ha_languages(provider_codes: Iterable[str]) -> list[str]:
    """Return every tag Home Assistant may send for these provider codes.

    Base codes ("en") are offered with their common regions ("en-US"), and
    regional codes ("hi-IN") with their base, because pipelines and satellites
    send whichever the user's setup uses and the match must be exact.
    """
    tags: set[str] = set()
    for code in provider_codes:
        base, _, region = code.partition("-")
        tags.add(code)
        if region:
            tags.add(base)
        else:
            tags.update(f"{base}-{reg}" for reg in REGIONS.get(base, ()))
    return sorted(tags)


def provider_language(tag: str, provider_codes: Iterable[str]) -> str | None:
    """Return the provider's code for a Home Assistant tag, or None if it has none.

    Exact matches win, then the same base language (case-insensitive, "_" or "-").
    """
    codes = list(provider_codes)
    wanted = tag.replace("_", "-").casefold()
    by_folded = {code.casefold(): code for code in codes}
    if wanted in by_folded:
        return by_folded[wanted]
    base = wanted.partition("-")[0]
    if base in by_folded:
        return by_folded[base]
    for code in codes:
        if code.partition("-")[0].casefold() == base:
            return code
    return None
