"""Who is calling: the address that per-address limits count, which a client cannot choose.

Uvicorn, as Gradio starts it, replaces a connection's peer address with the value of its
X-Forwarded-For header whenever the connection comes from an address in
FORWARDED_ALLOW_IPS (default 127.0.0.1 and ::1). Any proxy or tunnel on the same machine
then lets every client pick its own address by sending that header, and each forged value
is a fresh budget for every per-address limit. So LCIO switches that rewrite off
(`keep_tcp_peer`, called where its pages are built, before Gradio starts uvicorn) and reads
the header itself, only where it is told that a proxy in front sets it
(`trust_forwarded_for`), and then takes the entry the proxy added, counted from the
right: the entries to its left are whatever the client sent.

An IPv6 address counts by its /64 network: one subscriber usually holds a whole /64 and can
pick a new source address from it for every request, as cheaply as a forged header.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from typing import Any

UVICORN_TRUST_VARIABLE = "FORWARDED_ALLOW_IPS"
MAX_ADDRESS_CHARS = 100  # a key, not a free text field: a header cannot make it huge
log = logging.getLogger(__name__)


def keep_tcp_peer() -> None:
    """Make uvicorn leave the TCP peer address alone (no proxy is trusted by it), so that
    `request.client.host` is the connection's own address, whatever headers say."""
    configured = os.environ.get(UVICORN_TRUST_VARIABLE, "")
    if configured:
        log.warning("%s=%s is ignored: LCIO reads X-Forwarded-For itself where it is told "
                    "to trust a proxy (LCIO_TRUST_FORWARDED_FOR, or a study's "
                    "[limits] trust_forwarded_for)", UVICORN_TRUST_VARIABLE, configured)
    os.environ[UVICORN_TRUST_VARIABLE] = ""


def forwarded_chain(request: Any) -> list[str]:
    """Every X-Forwarded-For entry, oldest first (several header lines read as one list)."""
    headers = getattr(request, "headers", None) or {}
    getlist = getattr(headers, "getlist", None)
    lines = getlist("x-forwarded-for") if callable(getlist) else [headers.get("x-forwarded-for", "")]
    return [entry.strip() for line in lines if line for entry in str(line).split(",")
            if entry.strip()]


def client_address(request: Any, trust_forwarded_for: bool = False, hops: int = 1) -> str:
    """The caller's address from a gr.Request (or anything with .client/.headers).

    Untrusted (the default): the TCP peer. Trusted: the entry `hops` from the right of
    X-Forwarded-For, the one the outermost of `hops` appending proxies wrote; a chain
    shorter than that gives its oldest entry, and no header gives the peer.
    """
    if request is None:
        return "unknown"
    chain = forwarded_chain(request) if trust_forwarded_for else []
    if chain:
        return subscriber(chain[-min(max(1, hops), len(chain))])
    client = getattr(request, "client", None)
    return subscriber(str(getattr(client, "host", None) or "unknown"))


def subscriber(address: str) -> str:
    """What one client holds: an IPv4 address (also written IPv4-mapped, or with a port),
    or an IPv6 address's /64; anything else as it is, cut to MAX_ADDRESS_CHARS."""
    text = address.strip()[:MAX_ADDRESS_CHARS]
    for candidate in (text, text.rsplit(":", 1)[0] if text.count(":") == 1 else "",
                      text[1:text.find("]")] if text.startswith("[") else ""):
        try:
            ip = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
        return str(ip)
    return text
