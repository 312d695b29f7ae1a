"""Text for the chat: Markdown still formats, but no HTML tag and no image survive.

Prompts, model answers, file names and error messages are data, never markup. An answer
holding `<img src=http://...>` or `![](http://...)` must not make the browser fetch anything,
and `<script>` / `onerror=` must stay text. Gradio's Chatbot sanitises but keeps tags such as
`<img>` (its `allow_tags` defaults to True) and renders Markdown images, so every message is
made inert here before it reaches a Chatbot:

- in prose, `&` and `<` become entities (shown as the characters) and the image opener `![`
  is backslash-escaped (shown as `![`, never loaded);
- inside code (fences and `spans`), where Markdown shows entities literally, a word joiner
  (U+2060, invisible) follows every `<` and splits every `![`: neither HTML nor Markdown
  starts a tag or an image there, so a wrongly guessed code region is still inert.

Safety never depends on guessing what is code; only the looks do. `>` is kept so that
Markdown quotes still work (no tag can start without `<`).
"""

from __future__ import annotations

import re
from typing import Any

JOINER = "\u2060"
# Linear time on any input (a prompt may be megabytes of backticks): possessive runs, and a
# span starts only where a run of backticks starts.
_CODE = re.compile(
    r"^ {0,3}(?P<fence>`{3,}+|~{3,}+)[^\n]*\n.*?(?:^ {0,3}(?P=fence)[`~]*[ \t]*$|\Z)"  # block
    r"|(?<!`)(?P<ticks>`++)[^`\n]+?(?P=ticks)(?!`)",  # inline code span
    re.MULTILINE | re.DOTALL,
)


def _prose(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("![", "!\\[")


def _code(text: str) -> str:
    return text.replace("<", "<" + JOINER).replace("![", "!" + JOINER + "[")


def safe_markdown(text: str | None) -> str:
    """`text` as inert Markdown: every tag and every image reference shown, not interpreted."""
    text = text or ""
    out, pos = [], 0
    for match in _CODE.finditer(text):
        out += [_prose(text[pos:match.start()]), _code(match.group(0))]
        pos = match.end()
    out.append(_prose(text[pos:]))
    return "".join(out)


def safe_history(messages: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Chat messages with every text content made inert; file contents ({"path": ...}) kept."""
    out = []
    for message in messages or []:
        content = message.get("content")
        if isinstance(content, str):
            message = {**message, "content": safe_markdown(content)}
        out.append(message)
    return out
