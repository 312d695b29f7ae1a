"""LCIO-Bench files as rows: keys, whole-line appends with fsync, reading, repairing a torn tail."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def content_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row without its measured part: what must be identical between two builds."""
    return {k: v for k, v in row.items() if k != "measured"}


def outcome_key(dialogue: str, turn: int, action: int) -> str:
    return f"{dialogue}/{turn}/{action}"


def turn_key(dialogue: str, turn: int) -> str:
    return f"{dialogue}/{turn}"


def repair_tail(path: Path) -> None:
    """Cut a torn last line (an interrupted write) so the file ends with a whole record.

    Every row is written as one line ending in a newline, so the bytes after the last newline
    are exactly what an interrupted write can leave behind.
    """
    if not path.exists():
        return
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with path.open("r+b") as handle:
            handle.truncate(end)


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("r", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


class RowWriter:
    """Appends whole lines atomically (one write, then fsync) to a JSONL file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, row: Mapping[str, Any]) -> None:
        line = (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        os.write(self.fd, line)
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)
