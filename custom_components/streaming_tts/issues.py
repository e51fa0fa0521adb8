"""Repair issues for what only the user can fix: credits, and voices that disappeared."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import CONF_VOICE, CONF_VOICE_LISTED, DOMAIN
from .speech import Voice


def quota_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the entry's out-of-credits issue."""
    return f"quota_exceeded_{entry.entry_id}"


def voice_issue_id(subentry_id: str) -> str:
    """Return the id of a voice profile's missing-voice issue."""
    return f"voice_missing_{subentry_id}"


@callback
def async_report_quota(
    hass: HomeAssistant, entry: ConfigEntry, provider: str, exhausted: bool
) -> None:
    """Raise (or, once speech works again, clear) the out-of-credits issue."""
    if not exhausted:
        ir.async_delete_issue(hass, DOMAIN, quota_issue_id(entry))
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        quota_issue_id(entry),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="quota_exceeded",
        translation_placeholders={"provider": provider, "title": entry.title},
    )


@callback
def async_check_voices(
    hass: HomeAssistant, entry: ConfigEntry, provider: str, voices: list[Voice]
) -> None:
    """Raise an issue for each voice profile whose listed voice is no longer offered."""
    offered = {voice.voice_id for voice in voices}
    for subentry in entry.subentries.values():  # every subentry is a voice profile
        voice = subentry.data.get(CONF_VOICE)
        issue_id = voice_issue_id(subentry.subentry_id)
        if subentry.data.get(CONF_VOICE_LISTED) and voice not in offered:
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="voice_missing",
                translation_placeholders={
                    "provider": provider,
                    "voice": str(voice),
                    "profile": subentry.title,
                    "entry_id": entry.entry_id,
                },
            )
        else:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
    _delete_stale_voice_issues(hass, entry)


@callback
def async_delete_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove every issue of an entry that is being removed."""
    ir.async_delete_issue(hass, DOMAIN, quota_issue_id(entry))
    for subentry_id in entry.subentries:
        ir.async_delete_issue(hass, DOMAIN, voice_issue_id(subentry_id))


@callback
def _delete_stale_voice_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove the issues of voice profiles that were deleted."""
    registry = ir.async_get(hass)
    current = {voice_issue_id(subentry_id) for subentry_id in entry.subentries}
    stale = [
        issue_id
        for (domain, issue_id), issue in registry.issues.items()
        if domain == DOMAIN
        and issue_id.startswith("voice_missing_")
        and issue_id not in current
        and issue.translation_placeholders is not None
        and issue.translation_placeholders.get("entry_id") == entry.entry_id
    ]
    for issue_id in stale:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
