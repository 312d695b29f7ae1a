"""A study, as the researcher describes it: a TOML/JSON/YAML file or environment variables.

`LCIO_STUDY_CONFIG=path/to/study.toml` turns study mode on; so does `LCIO_STUDY_CONDITIONS`
alone (env-only studies, e.g. on a Space with no file to edit). The researcher token is
read from `LCIO_STUDY_TOKEN` (a Space secret) and kept as a SecretStr so it never prints;
a token in the file is accepted for a laptop but the environment wins.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from app.study.limits import StudyLimits

Assignment = Literal["random", "balanced", "counterbalanced"]
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


class ConditionSpec(BaseModel):
    """One arm of the study: which policy decides, under which session budgets."""

    name: str
    policy: str  # a name from Runtime.policy_names, e.g. "lcio-lookahead", "cloud-only"
    budget_usd: float | None = None  # None: the app's default limit
    budget_latency_s: float | None = None
    budget_energy_j: float | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"condition name {v!r}: letters, digits, '_', '-', '.' only")
        return v

    @field_validator("policy")
    @classmethod
    def _current_name(cls, v: str) -> str:
        """A former policy name (`policies.roster.ALIASES`) means the policy it became."""
        from policies.roster import canonical

        return canonical(v)


class TaskSpec(BaseModel):
    """A scripted task: what the participant is asked to do, and files sent with it."""

    instructions: str
    prompt: str = ""  # pre-filled in the textbox; the participant may edit it
    attachments: list[Path] = Field(default_factory=list)  # sent with the task's first turn


class QuestionItem(BaseModel):
    """One end-of-session question: a 1–5 scale, a choice, or free text."""

    id: str
    text: str
    kind: Literal["likert", "choice", "text"] = "likert"
    choices: list[str] = Field(default_factory=list)
    required: bool = True

    @model_validator(mode="after")
    def _choices(self) -> QuestionItem:
        if self.kind == "likert" and not self.choices:
            self.choices = ["1", "2", "3", "4", "5"]
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"question {self.id!r}: a 'choice' item needs choices")
        return self


class Recruitment(BaseModel):
    """Arrivals from a panel such as Prolific: ids from URL query parameters (recorded,
    never used for access; a repeated participant id is refused or flagged), a completion
    code and redirect at the end, a screen-out path."""

    participant_param: str = "PROLIFIC_PID"
    study_param: str = "STUDY_ID"
    session_param: str = "SESSION_ID"
    completion_code: str = ""  # shown on the thank-you page (and put into completion_url)
    completion_url: str = ""  # e.g. "https://app.prolific.com/submissions/complete?cc={code}"
    screen_out_code: str = ""  # for people who decline or fail the attention rule
    screen_out_url: str = ""
    redirect_after_s: float = Field(4.0, ge=0)  # then the browser goes to the URL by itself
    # A consent whose participant id is already in the study (one person taking part
    # again): "refuse" ends it with the screen-out code and makes nobody; "flag" admits
    # them and marks them (repeat_of) in the researcher's view and export. The id decides
    # admission only; it never opens anyone's session.
    repeat_participants: Literal["refuse", "flag"] = "refuse"

    def url(self, which: Literal["complete", "screen_out"]) -> str:
        code, url = ((self.completion_code, self.completion_url) if which == "complete"
                     else (self.screen_out_code, self.screen_out_url))
        return url.replace("{code}", code) if url else ""


class AttentionCheck(BaseModel):
    """An item with a known right answer, shown after `after_turn` rated answers."""

    id: str
    text: str
    choices: list[str]
    answer: str
    after_turn: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> AttentionCheck:
        if self.answer not in self.choices:
            raise ValueError(f"attention check {self.id!r}: answer {self.answer!r} is not a choice")
        return self


class AttentionRule(BaseModel):
    """What failing more than `max_failures` checks means: flagged in the data, excluded
    from the researcher's analysis, or also ended at once with the screen-out code."""

    max_failures: int = Field(0, ge=0)
    action: Literal["flag", "exclude", "screen_out"] = "exclude"

    def excludes(self, failed: int) -> bool:
        """Whether a participant with `failed` wrong answers is left out of the analysis."""
        return self.action != "flag" and failed > self.max_failures


DEFAULT_CONSENT = (
    "### Taking part in this study\n\nYou will chat with an assistant and rate each answer "
    "from 1 (poor) to 5 (excellent). It takes about ten minutes. What you type and your "
    "ratings are stored under an anonymous id; do not enter personal information. You may "
    "stop at any time by closing the page.")

DEFAULT_QUESTIONNAIRE = [
    QuestionItem(id="overall", text="Overall, how satisfied were you with the answers?"),
    QuestionItem(id="speed", text="How acceptable was the waiting time?"),
    QuestionItem(id="comments", text="Anything else you noticed?", kind="text", required=False),
]


class StudyConfig(BaseModel):
    """Everything that defines a study; see assets/study/example.toml for a commented one."""

    name: str = "LCIO user study"
    conditions: list[ConditionSpec]
    assignment: Assignment = "balanced"
    # "likert": one answer per turn, rated 1–5. "pairwise": every prompt answered under two
    # conditions side by side (left/right at random, labels hidden), then a vote.
    mode: Literal["likert", "pairwise"] = "likert"
    pair_ratings: bool = False  # pairwise: also ask for an optional 1–5 rating of each
    # Counterbalanced (within-subject): the condition changes every `switch_every` tasks.
    switch_every: int = Field(1, ge=1)
    tasks: list[TaskSpec] = Field(default_factory=list)
    n_tasks: int | None = Field(None, ge=1)  # free tasks when no scripted ones are given
    turns_per_task: int = Field(1, ge=1)  # rated turns per task
    consent: str = DEFAULT_CONSENT
    consent_version: str = ""  # stored with each participant; default: a hash of the text
    questionnaire: list[QuestionItem] = Field(default_factory=lambda: list(DEFAULT_QUESTIONNAIRE))
    seed: int = 0
    max_new_tokens: int | None = Field(None, ge=1)
    db_path: Path | None = None  # default: <cache_dir>/study-<name>.sqlite
    token: SecretStr | None = None
    limits: StudyLimits = Field(default_factory=StudyLimits)  # throttles, see limits.py
    recruitment: Recruitment = Field(default_factory=Recruitment)
    attention_checks: list[AttentionCheck] = Field(default_factory=list)
    attention_rule: AttentionRule = Field(default_factory=AttentionRule)

    @model_validator(mode="after")
    def _check(self) -> StudyConfig:
        if not self.conditions:
            raise ValueError("a study needs at least one condition")
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            raise ValueError(f"condition names must be unique: {names}")
        ids = [q.id for q in self.questionnaire]
        if len(set(ids)) != len(ids):
            raise ValueError(f"questionnaire ids must be unique: {ids}")
        if self.mode == "pairwise" and len(names) < 2:
            raise ValueError("a pairwise study needs at least two conditions")
        checks = [c.id for c in self.attention_checks]
        if len(set(checks)) != len(checks):
            raise ValueError(f"attention check ids must be unique: {checks}")
        if not self.consent_version:
            import hashlib

            self.consent_version = hashlib.sha256(self.consent.encode()).hexdigest()[:12]
        for task in self.tasks:
            for path in task.attachments:
                if not path.is_file():
                    raise ValueError(f"task attachment not found: {path}")
        return self

    @property
    def task_count(self) -> int:
        """Scripted tasks, else `n_tasks`, else one free task per condition."""
        if self.tasks:
            return len(self.tasks)
        return self.n_tasks or (len(self.conditions) if self.assignment == "counterbalanced" else 1)

    @property
    def total_turns(self) -> int:
        return self.task_count * self.turns_per_task

    def task(self, index: int) -> TaskSpec | None:
        return self.tasks[index] if index < len(self.tasks) else None

    def condition(self, name: str) -> ConditionSpec:
        return next(c for c in self.conditions if c.name == name)

    def token_value(self) -> str:
        return self.token.get_secret_value() if self.token is not None else ""


def study_configured(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("LCIO_STUDY_CONFIG") or env.get("LCIO_STUDY_CONDITIONS"))


def load_study_config(path: str | Path | None = None,
                      env: Mapping[str, str] | None = None) -> StudyConfig:
    """The study from a file (TOML, JSON or YAML by suffix) and/or `LCIO_STUDY_*` variables.

    Relative attachment and database paths are resolved against the file's folder, so a
    study folder can be copied to another machine as it is.
    """
    env = os.environ if env is None else env
    path = path or env.get("LCIO_STUDY_CONFIG") or None
    data: dict[str, Any] = {}
    base = Path.cwd()
    if path:
        path = Path(path)
        data = _read(path)
        base = path.resolve().parent
    data.update(_from_env(env))
    for task in data.get("tasks") or []:
        task["attachments"] = [_resolve(base, p) for p in task.get("attachments") or []]
    if data.get("db_path"):
        data["db_path"] = _resolve(base, data["db_path"])
    if env.get("LCIO_STUDY_TOKEN"):
        data["token"] = env["LCIO_STUDY_TOKEN"]
    return StudyConfig.model_validate(data)


def _resolve(base: Path, p: str | Path) -> Path:
    p = Path(p).expanduser()
    return p if p.is_absolute() else base / p


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return tomllib.loads(text)
    if suffix == ".json":
        return json.loads(text)
    if suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(text) or {}
    raise ValueError(f"study config {path}: use .toml, .json or .yaml")


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """`LCIO_STUDY_CONDITIONS="lcio=lcio-lookahead,cloud=cloud-only"` and friends."""
    out: dict[str, Any] = {}
    if env.get("LCIO_STUDY_CONDITIONS"):
        conds = []
        for part in env["LCIO_STUDY_CONDITIONS"].split(","):
            name, _, policy = part.strip().partition("=")
            conds.append({"name": name.strip(), "policy": (policy or name).strip()})
        out["conditions"] = conds
    for key, field, cast in (("ASSIGNMENT", "assignment", str), ("SEED", "seed", int),
                             ("N_TASKS", "n_tasks", int), ("TURNS_PER_TASK", "turns_per_task", int),
                             ("SWITCH_EVERY", "switch_every", int), ("CONSENT", "consent", str),
                             ("DB", "db_path", str), ("NAME", "name", str),
                             ("MAX_NEW_TOKENS", "max_new_tokens", int)):
        value = env.get(f"LCIO_STUDY_{key}")
        if value:
            out[field] = cast(value)
    return out
