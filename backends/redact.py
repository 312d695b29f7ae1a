"""Keep credentials out of what people and logs see: endpoint URLs shown as host:port only.

OPENAI_BASE_URL may carry a login (`http://user:secret@host/v1`) or a token in its query;
neither may reach the page header, a fallback message, the session log or an export.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

# scheme://userinfo@ anywhere in a text (an error message quoting a URL, a logged request).
# Linear time on any text (prompts reach the log): a scheme is tried only where a run of
# scheme characters starts, and runs are never backtracked into.
_USERINFO = re.compile(r"(?i)(?<![a-z0-9+.\-])([a-z0-9+.\-]++://)[^/\s@]++@")
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


_log_secrets: set[str] = set()


def redact_logs(secrets: list[str] | tuple[str, ...] = ()) -> None:
    """From now on, every log message of every library is passed through `redact_text` with
    these secrets (httpx, for one, logs each request's full URL, login included, at INFO)."""
    _log_secrets.update(s for s in secrets if s)
    previous = logging.getLogRecordFactory()
    if getattr(previous, "lcio_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return record
        clean = redact_text(message, sorted(_log_secrets, key=len, reverse=True))
        if clean != message:
            record.msg, record.args = clean, ()
        return record

    factory.lcio_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
