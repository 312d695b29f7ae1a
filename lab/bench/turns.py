"""What an LCIO-Bench dialogue is made of: turns that say what they need and how their
answer is scored, and the thirteen task names the observation and the tables use."""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.bench.media import MediaSpec
from lab.bench.scoring import Rule
from policies.bench.tasks import TASKS, Task  # noqa: F401 - re-exported for the generators

MAX_ATTACHMENTS = 3

@dataclass(frozen=True)
class Turn:
    """One person's message, what it needs, and how its answer is scored."""

    task: str
    prompt: str
    reference: str
    rule: Rule
    attachments: tuple[MediaSpec, ...] = ()
    relevant: tuple[bool, ...] = ()
    question: str = ""  # the question as asked (for spoken turns: the words in the audio)
    refers_to: tuple[int, ...] = ()  # earlier turns this one depends on

    def __post_init__(self) -> None:
        if len(self.attachments) > MAX_ATTACHMENTS:
            raise ValueError(f"at most {MAX_ATTACHMENTS} attachments per turn")
        if not self.relevant and self.attachments:
            object.__setattr__(self, "relevant", tuple(True for _ in self.attachments))
        if not self.question:
            object.__setattr__(self, "question", self.prompt)


@dataclass(frozen=True)
class Dialogue:
    id: str
    blueprint: str
    turns: tuple[Turn, ...] = field(default_factory=tuple)
    family: str = ""  # v3: the source/template/topic group a family split keeps together
