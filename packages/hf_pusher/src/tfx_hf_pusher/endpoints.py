"""Which Hub URLs may receive the token: https anywhere, plain http only on this machine."""

from __future__ import annotations

import ipaddress
import urllib.parse


def endpoint_problem(endpoint: str) -> str | None:
    """Why the Hub URL `endpoint` cannot be used, or None (also for ""; the default Hub).

    The token is sent with every request: plain http would carry it in clear text over the
    network, so http is accepted only for a Hub on loopback (a local stand-in).
    """
    if not endpoint:
        return None
    url = urllib.parse.urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.hostname:
        return f"{endpoint!r} is not an http(s) URL"
    if url.scheme == "http" and not _is_loopback(url.hostname):
        return (
            f"{endpoint!r} would send the Hub token in clear text over the network; use https:// "
            "(plain http:// only for a Hub on this machine: localhost, 127.0.0.1 or ::1)"
        )
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
