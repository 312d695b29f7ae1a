"""Keep credentials out of what people and logs see: endpoint URLs shown as host:port only.

OPENAI_BASE_URL may carry a login (`http://user:secret@host/v1`) or a token in its query;
neither may reach the page header, a fallback message, the session log or an export.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# scheme://userinfo@ anywhere in a text (an error message quoting a URL, a logged request)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@]+@")
MIN_SECRET_CHARS = 4  # a shorter "password" would blank out ordinary words


def redact_url(url: str | None) -> str:
    """host:port of `url` (no scheme, login, path or query); 'the configured endpoint' if unparsable."""
    try:
        parts = urlsplit(url or "")
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host:
        return "the configured endpoint"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def url_secrets(url: str | None) -> list[str]:
    """The parts of `url` that must never be shown: its password (and the whole user:password)."""
    try:
        parts = urlsplit(url or "")
        password = parts.password
    except ValueError:
        return []
    if not password or len(password) < MIN_SECRET_CHARS:
        return []
    return [f"{parts.username or ''}:{password}", password]


def redact_text(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with every URL login and every given secret replaced by [redacted]."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _USERINFO.sub(r"\1[redacted]@", text)
