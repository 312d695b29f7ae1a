"""The study's flow, independent of any UI: consent -> blind turns, each rated before the
next -> questionnaire -> done.

Blinding is by construction: everything a participant can receive is a `View`, built
only from what they typed, the answer text and the study's own texts. Decisions, model
names, locations and costs stay in the engine's log on the server. The phase is derived
from the database on every call, so a reload, a second tab or a server restart resumes
exactly where the participant was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine import Engine
from app.session import BudgetLedger, Cost, Session
from app.study.assignment import choose_order, condition_at
from app.study.config import StudyConfig
from app.study.store import StudyStore
from backends.types import Message

Phase = str  # "consent" | "chat" | "rate" | "check" | "questionnaire" | "done" | "screened"
FAILED_NOTE = "Sorry, no answer could be produced this time. Please send your message again."
INTERRUPTED_NOTE = ("Your last message was not answered (the connection or the server was "
                    "interrupted). It is back in the box: please send it again.")


@dataclass
class View:
    """All a participant's page shows; the only thing participant handlers return."""

    phase: Phase
    participant: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # {"role", "content"}
    task: str = ""  # "Task 1 of 3" + instructions
    prompt: str = ""  # text to put back in the box
    progress: str = ""
    note: str = ""
    live: bool = False  # an answer is streaming: the box stays locked
    check: dict[str, Any] | None = None  # an attention check: {"id", "text", "choices"}
    end_text: str = ""  # the completion (or screen-out) code and link
    redirect: str = ""  # where the browser goes at the end (the panel's URL)
    left: list[dict[str, Any]] = field(default_factory=list)  # pairwise: answer A's chat
    right: list[dict[str, Any]] = field(default_factory=list)  # pairwise: answer B's chat


@dataclass(frozen=True)
class Standing:
    """How far a participant is, as a study mode counts it; `view` derives the phase from it."""

    judging: bool  # the last answer (pair) waits for its rating (vote)
    made: int  # answers (complete pairs) so far
    counted: int  # those that count towards the study's total
    judged: int  # ratings (votes) given: attention checks come after so many
    shown: int  # the number the progress line shows, outside the chat phase


class StudyService:
    """One per process: the config, the study's store and an engine on its log."""

    def __init__(self, config: StudyConfig, store: StudyStore, engine: Engine) -> None:
        self.config = config
        self.store = store
        self.engine = engine
        self._sessions: dict[tuple[str, str], Session] = {}
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    # -- phases ---------------------------------------------------------------------------

    def consent(self, agreed: bool, pid: str | None = None, token_hash: str | None = None,
                recruited: dict[str, str] | None = None) -> View:
        """Agreeing creates an anonymous participant and assigns their condition(s);
        `token_hash` binds them to the browser holding the token (see ui.py);
        `recruited`: the panel's ids from the URL, stored with the consent version; an id
        already in the study is refused or flagged (`recruitment.repeat_participants`)."""
        if self.store.participant(pid) is not None:
            return self.view(pid)
        if not agreed:
            return View("consent", note="Please tick the box to agree before starting.")
        pid, _ = self.store.create_participant(
            lambda seq, new_id, counts: choose_order(self.config, seq, new_id, counts),
            token_hash=token_hash, repeats=self.config.recruitment.repeat_participants,
            consent_version=self.config.consent_version, **(recruited or {}))
        if pid is None:  # this panel id has taken part: the panel's screen-out path, and the
            return self._ended("screened")  # same words as a decline (it says nobody's status)
        return self.view(pid)

    def decline(self) -> View:
        """Not taking part: nothing is stored; the panel gets its screen-out code."""
        return self._ended("screened")

    def _ended(self, phase: Phase, pid: str | None = None) -> View:
        rec = self.config.recruitment
        if phase == "done":
            code, url = rec.completion_code, rec.url("complete")
            text = "### Thank you!\n\nYour answers are saved."
            text += f"\n\nYour completion code: **{code}**" if code else " You can close this page."
        else:
            code, url = rec.screen_out_code, rec.url("screen_out")
            text = "### Thank you\n\nThe study is over for you; you can close this page."
            text += f"\n\nYour code: **{code}**" if code else ""
        if url:
            text += f"\n\n[Return to the study platform]({url})"
        return View(phase, pid, end_text=text, redirect=url)

    def _due_check(self, pid: str, rated: int) -> dict[str, Any] | None:
        """The first attention check due after `rated` rated answers and not yet answered."""
        done = {a["item"] for a in self.store.attention(pid)}
        for c in self.config.attention_checks:
            if c.after_turn <= rated and c.id not in done:
                return {"id": c.id, "text": c.text, "choices": list(c.choices)}
        return None

    def answer_check(self, pid: str | None, item: str | None, answer: str | None) -> View:
        """Record the answer to the attention check on screen (`item` None: the one due);
        apply the rule."""
        view = self.view(pid)
        if view.phase != "check" or view.check is None or item not in (None, view.check["id"]):
            return view
        item = view.check["id"]
        if answer not in view.check["choices"]:
            view.note = "Please choose one of the answers."
            return view
        assert pid is not None
        spec = next(c for c in self.config.attention_checks if c.id == item)
        self.store.answer_attention(pid, item, str(answer), answer == spec.answer)
        rule = self.config.attention_rule
        failed = sum(not a["correct"] for a in self.store.attention(pid))
        if rule.action == "screen_out" and failed > rule.max_failures:
            self.store.end(pid, "screened_out")
        return self.view(pid)

    # What differs between the study modes: pairwise.py overrides these two,
    # `_standing` and `_show_dialogue`.
    JUDGING: Phase = "rate"  # the phase in which the last answer is judged
    UNIT = "Answer"  # what the progress line counts

    def view(self, pid: str | None, note: str = "") -> View:
        """Where this participant is, rebuilt from the database."""
        p = self.store.participant(pid)
        if p is None:
            return View("consent", note=note)
        assert pid is not None
        if p.get("outcome") == "screened_out":
            return self._ended("screened", pid)
        prompt = ""
        with self._lock:
            busy = pid in self._busy
        if not busy:  # nothing of theirs runs here: any 'pending' turn was cut off
            self.store.interrupt_pending(pid)
        rows = self.store.turns(pid)
        if not busy and rows and rows[-1]["status"] == "interrupted":  # offer it again
            prompt, note = rows[-1]["prompt"] or "", note or INTERRUPTED_NOTE
        standing = self._standing(pid, rows)
        total = self.config.total_turns
        if standing.judging:
            phase = self.JUDGING
        elif standing.counted >= total:
            phase = "done" if p["questionnaire_ts"] else "questionnaire"
        else:
            phase = "chat"
        check = None if phase in (self.JUDGING, "done") else self._due_check(pid, standing.judged)
        if check is not None:
            phase = "check"
        if phase == "done":
            return self._ended("done", pid)
        turn = standing.made - 1 if phase == self.JUDGING else standing.made
        task_index = min(turn, total - 1) // self.config.turns_per_task
        shown = min(standing.shown + (phase == "chat"), total)
        view = View(phase, pid, note=note, prompt=prompt, check=check,
                    progress=f"{self.UNIT} {shown} of {total}")
        if phase in ("chat", self.JUDGING):
            view.task = self._task_text(task_index)
            self._show_dialogue(view, rows, task_index)
            if phase == "chat" and not prompt and turn % self.config.turns_per_task == 0:
                spec = self.config.task(task_index)
                view.prompt = spec.prompt if spec else ""
        return view

    def _standing(self, pid: str, rows: list[dict[str, Any]]) -> Standing:
        """One answer a turn, each rated before the next."""
        answered = [r for r in rows if r["status"] == "answered"]
        return Standing(judging=bool(answered) and answered[-1]["rating"] is None,
                        made=len(answered), counted=len(answered),
                        judged=sum(r["rating"] is not None for r in answered),
                        shown=len(answered))

    def _show_dialogue(self, view: View, rows: list[dict[str, Any]], task_index: int) -> None:
        view.messages = self._messages(rows, task_index)

    def _task_text(self, task_index: int) -> str:
        n = self.config.task_count
        spec = self.config.task(task_index)
        head = f"**Task {task_index + 1} of {n}.**"
        if spec is None:
            return head + " Ask the assistant anything you like; then rate its answer."
        return f"{head} {spec.instructions}"

    def _messages(self, rows: list[dict[str, Any]], task_index: int) -> list[dict[str, Any]]:
        """The current task's dialogue: the task's files, then text in and answers out."""
        out: list[dict[str, Any]] = []
        spec = self.config.task(task_index)
        if spec is not None:
            out += [{"role": "user", "content": {"path": str(p)}} for p in spec.attachments]
        for r in rows:
            if r["task"] != task_index or r["status"] != "answered":
                continue
            out.append({"role": "user", "content": r["prompt"] or "(attachment)"})
            out.append({"role": "assistant", "content": r["answer"] or ""})
        return out

    # -- a turn ---------------------------------------------------------------------------

    def send(self, pid: str | None, text: str, files: list[str] | None = None) -> Iterator[View]:
        """Answer one turn under the participant's hidden condition; yields Views only."""
        view = self.view(pid)
        if view.phase != "chat":
            view.note = {"rate": "Please rate the last answer first.",
                         "consent": "Please agree to take part first."}.get(view.phase, "")
            yield view
            return
        assert pid is not None
        with self._lock:
            if pid in self._busy:
                yield View(view.phase, pid, view.messages, view.task, progress=view.progress,
                           note="An answer is still being written.")
                return
            self._busy.add(pid)
        try:
            yield from self._send(pid, view, (text or "").strip(), list(files or []))
        finally:
            with self._lock:
                self._busy.discard(pid)

    def _send(self, pid: str, view: View, text: str, files: list[str]) -> Iterator[View]:
        p = self.store.participant(pid)
        assert p is not None
        rows = self.store.turns(pid)
        turn = sum(r["status"] == "answered" for r in rows)
        task, condition = condition_at(self.config, p["conditions"], turn)
        spec = self.config.task(task)
        if spec is not None and turn % self.config.turns_per_task == 0:
            files = [str(a) for a in spec.attachments] + files
        study_turn = self.store.start_turn(pid, turn, task, condition, text,
                                           [Path(f).name for f in files])
        session = self._session(pid, condition, rows, task)
        shown = [*view.messages]
        shown += [{"role": "user", "content": {"path": f}} for f in files
                  if spec is None or f not in {str(a) for a in spec.attachments}]
        if text:
            shown.append({"role": "user", "content": text})

        def live(answer: str) -> View:
            return View("chat", pid, [*shown, {"role": "assistant", "content": answer}],
                        view.task, progress=view.progress, live=True)

        if (yield from self._answer(pid, study_turn, session, text, files, live)) is not None:
            yield self.view(pid)

    def _answer(self, pid: str, study_turn: int, session: Session, text: str, files: list[str],
                live: Callable[[str], View]) -> Generator[View, None, str | None]:
        """Run one answer on the engine, keeping its study row in step: yields `live(answer so
        far)` while it streams; returns the answer, or None once the participant has been
        shown why there is none (refused input, a failed answer)."""
        finished = False
        try:
            for event in self.engine.run(session, text, files,
                                         max_new_tokens=self.config.max_new_tokens):
                rec = event.record
                if event.kind == "rejected":
                    self.store.finish_turn(study_turn, "rejected", "", rec.turn_id)
                    finished = True
                    yield self.view(pid, note=rec.error)  # input problems only, never routing
                    return None
                if event.kind == "done":
                    ok = rec.status == "answered" and bool(rec.answer.strip())
                    self.store.finish_turn(study_turn, "answered" if ok else "failed",
                                           rec.answer, rec.turn_id)
                    finished = True
                    if not ok:
                        yield self.view(pid, note=FAILED_NOTE)
                        return None
                    return rec.answer
                yield live(rec.answer if event.kind == "delta" else "")
        finally:
            if not finished:  # the browser went away or the server is stopping
                self.store.finish_turn(study_turn, "interrupted", "", None)
        return None  # not reached: the engine ends every turn with "done" or "rejected"

    def _session(self, pid: str, condition: str, rows: list[dict[str, Any]],
                 task: int) -> Session:
        """The engine session for (participant, condition); after a restart its ledger is
        replayed from the log. History: this task's answered turns only."""
        key = (pid, condition)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                spec = self.config.condition(condition)
                default = BudgetLedger().limit
                limit = Cost(usd=spec.budget_usd if spec.budget_usd is not None else default.usd,
                             latency_s=spec.budget_latency_s if spec.budget_latency_s is not None
                             else default.latency_s,
                             energy_j=spec.budget_energy_j if spec.budget_energy_j is not None
                             else default.energy_j)
                session = Session(policy_name=spec.policy, ledger=BudgetLedger(limit=limit),
                                  id=f"{pid}.{condition}", participant=pid, condition=condition)
                for r in self.store.log.rows(session.id):
                    session.ledger.charge_cost(Cost(usd=r["cost_usd"] or 0.0, latency_s=r["latency_s"] or 0.0,
                                                    energy_j=r["energy_j"] or 0.0))
                    session.turn_ids.append(r["id"])
                    session.past_actions.append(r["action"] or 0)
                    session.past_prompts.append(r["prompt"] or "")
                    session.past_attachments.append(())
                self._sessions[key] = session
        session.history = []
        for r in rows:
            if r["status"] == "answered" and r["task"] == task and r["condition"] == condition:
                session.history += [Message("user", r["prompt"] or "Describe what is attached."),
                                    Message("assistant", r["answer"] or "")]
        return session

    # -- ratings and the questionnaire -----------------------------------------------------

    def rate(self, pid: str | None, rating: int | str | None, comment: str | None) -> View:
        view = self.view(pid)
        if view.phase != "rate":
            return view
        try:
            stars = int(rating)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            stars = 0
        if not 1 <= stars <= 5:
            view.note = "Please choose a rating from 1 to 5."
            return view
        assert pid is not None
        last = [r for r in self.store.turns(pid) if r["status"] == "answered"][-1]
        self.store.rate(pid, last["id"], stars, (comment or "").strip()[:2000])
        return self.view(pid, note="Thank you — your rating is saved.")

    def submit_questionnaire(self, pid: str | None, answers: dict[str, Any]) -> View:
        view = self.view(pid)
        if view.phase != "questionnaire":
            return view
        assert pid is not None
        clean: dict[str, str] = {}
        for item in self.config.questionnaire:
            value = answers.get(item.id)
            value = "" if value is None else str(value).strip()[:4000]
            if item.kind != "text" and value and value not in item.choices:
                value = ""
            if item.required and not value:
                view.note = f"Please answer: “{item.text}”"
                return view
            clean[item.id] = value
        self.store.answer_questionnaire(pid, clean)
        self.store.end(pid, "complete")
        return self.view(pid)
