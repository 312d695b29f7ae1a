"""Every repository path the README and docs/ name exists, and every relative link resolves:
the docs are where a newcomer starts, and a moved file must not leave them pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP = ("app/", "policies/", "backends/", "assets/", "tests/", "docs/", ".ci/")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
CODE = re.compile(r"`([^`\s]+)`")


def named_paths(text: str) -> set[str]:
    """Backticked words that are repository paths (a top-level folder, or a root file)."""
    names = set()
    for word in CODE.findall(text):
        word = word.rstrip(".,:;")
        if word.startswith(TOP) and "*" not in word and "…" not in word and "<" not in word:
            names.add(word.split(":")[0])
    return names


def linked_paths(doc: Path, text: str) -> set[Path]:
    prose = CODE.sub("", text)  # `![](…)` in a sentence about Markdown is no link
    return {(doc.parent / target).resolve() for target in LINK.findall(prose)
            if not re.match(r"^(https?:|mailto:)", target)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_named_path_exists(doc: Path) -> None:
    text = doc.read_text()
    missing = sorted(p for p in named_paths(text) if not (ROOT / p).exists())
    missing += sorted(str(p) for p in linked_paths(doc, text) if not p.exists())
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


def test_readme_is_a_front_door() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150
