"""Where a provider's API lives: checking an API root, deriving WebSocket URLs."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit, urlunsplit

LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})


def websocket_url(base_url: str, path: str) -> str:
    """Derive a ws(s) URL from an http(s) API root."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path + path, "", ""))


def check_base_url(base_url: str) -> str:
    """Return the API root without a trailing slash, or raise for an unsafe one.

    Keys travel to this URL, so only TLS is allowed, except on this machine
    (local emulators and development proxies).
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the API URL must start with https://")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError("the API URL must use https:// unless the host is loopback")
    if parts.query or parts.fragment:
        raise ValueError("the API URL must not have a query or fragment")
    return base_url.strip().rstrip("/")
