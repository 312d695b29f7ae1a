"""Export the whole session log (every session) for the operator, from the machine it lives on.

The web page exports only the caller's own session; everything is for whoever can read the
SQLite file itself:

    python -m app.tools.export_log --out log.csv   # LCIO_DATABASE_URL, else LCIO_LOG_PATH, else the default
    python -m app.tools.export_log --log other.sqlite --out log.jsonl --session SESSION_ID
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.store import SessionStore
from backends.redact import redact_url


def default_log_path() -> Path:
    """Where the app writes its log: LCIO_LOG_PATH, else sessions.sqlite in the cache folder."""
    from backends.config import get_settings

    return Path(os.environ.get("LCIO_LOG_PATH") or get_settings().cache_dir / "sessions.sqlite")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.tools.export_log",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="file to write (.csv or .jsonl)")
    parser.add_argument("--log", type=Path, default=None, help="SQLite log (default: the app's)")
    parser.add_argument("--format", choices=["csv", "jsonl"], default=None,
                        help="default: from the --out suffix, else csv")
    parser.add_argument("--session", default=None, help="only this session id")
    args = parser.parse_args(argv)
    fmt = args.format or ("jsonl" if args.out.suffix.lower() in (".jsonl", ".json") else "csv")
    url = None if args.log else os.environ.get("LCIO_DATABASE_URL")  # where the app logs, if set
    log: str | Path = url or args.log or default_log_path()
    if not url and not Path(log).is_file():
        print(f"no log at {log}", file=sys.stderr)
        return 1
    text = SessionStore(log).export(fmt, args.session)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({fmt}) from {redact_url(log) if url else log}")  # no DB password
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
