"""Load a running app with N concurrent sessions through its `/chat` API, then check isolation.

    python -m app.tools.loadtest --url http://127.0.0.1:7860 --sessions 10 --turns 2 \
        [--log ~/.cache/lcio/sessions.sqlite]

Each session is its own `gradio_client.Client` (so its own server-side session) and sends
`--turns` prompts one after another; the sessions run at the same time. Every prompt
carries a marker unique to this run, session and turn. Printed: turns answered / failed,
the policy's decision time per turn from the log (wall clock and CPU, p50 / p99),
where they were answered, p50 / p95 latency per turn as the client saw it, and isolation:

- each reply belongs to its session: turn numbers count 1..T within the session, and no
  reply contains another session's marker;
- with the app's log (`--log`, default LCIO_LOG_PATH): each run session's prompts sit in
  exactly one logged session, no logged session holds two run sessions' prompts, no logged
  answer holds another session's marker, and every reply's turn_id is the row of its prompt.

Not a timed test: it prints figures. Exit status 1 if isolation is broken or nothing was
answered.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUESTIONS = (
    "What is the capital of France?",
    "Name a colour of the sky.",
    "What is two plus two?",
    "Say hello in Spanish.",
)
MARKER = re.compile(r"\[lt-([0-9a-f]+)-s(\d+)-t(\d+)\]")


@dataclass
class Reply:
    session: int
    turn: int
    prompt: str
    seconds: float
    answer: str = ""
    decision: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def answered(self) -> bool:
        return not self.error and self.decision.get("status") == "answered"


def marker(run: str, session: int, turn: int) -> str:
    return f"[lt-{run}-s{session}-t{turn}]"


def run_session(url: str, run: str, session: int, turns: int) -> list[Reply]:
    """One client, one server-side session, `turns` prompts in a row."""
    from gradio_client import Client

    replies: list[Reply] = []
    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001 (a failed session is a figure, not a crash)
        return [Reply(session, t, "", 0.0, error=f"connect: {exc}") for t in range(1, turns + 1)]
    for t in range(1, turns + 1):
        prompt = f"{marker(run, session, t)} {QUESTIONS[(session + t) % len(QUESTIONS)]}"
        started = time.perf_counter()
        try:
            answer, decision = client.predict({"text": prompt, "files": []}, api_name="/chat")
            replies.append(Reply(session, t, prompt, time.perf_counter() - started, str(answer),
                                 decision if isinstance(decision, dict) else {}))
        except Exception as exc:  # noqa: BLE001
            replies.append(Reply(session, t, prompt, time.perf_counter() - started,
                                 error=f"{type(exc).__name__}: {exc}"[:200]))
    return replies


def reply_problems(replies: list[Reply], run: str) -> list[str]:
    """Cross-talk visible in the replies alone."""
    problems: list[str] = []
    by_session: dict[int, list[Reply]] = {}
    for reply in replies:
        by_session.setdefault(reply.session, []).append(reply)
        for found in MARKER.finditer(reply.answer):
            if found.group(1) == run and int(found.group(2)) != reply.session:
                problems.append(f"session {reply.session} got session {found.group(2)}'s marker")
    for session, own in by_session.items():
        numbers = [r.decision.get("turn") for r in own if r.decision]
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"session {session}: turn numbers {numbers}, not 1..{len(numbers)}")
    return problems


def log_problems(log_path: Path, run: str, replies: list[Reply]) -> list[str]:
    """Cross-talk visible in the app's SQLite log (read-only)."""
    db = sqlite3.connect(f"file:{log_path}?mode=ro", uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute("SELECT id, session_id, prompt, answer FROM turns WHERE prompt LIKE ?",
                          (f"%[lt-{run}-%",)).fetchall()
    finally:
        db.close()
    problems: list[str] = []
    logged_of: dict[int, set[str]] = {}  # run session -> logged session ids
    run_of: dict[str, set[int]] = {}  # logged session id -> run sessions
    row_by_id = {int(r["id"]): r for r in rows}
    for row in rows:
        found = MARKER.search(row["prompt"] or "")
        if found is None:
            continue
        session = int(found.group(2))
        logged_of.setdefault(session, set()).add(row["session_id"])
        run_of.setdefault(row["session_id"], set()).add(session)
        for other in MARKER.finditer(row["answer"] or ""):
            if other.group(1) == run and int(other.group(2)) != session:
                problems.append(f"log row {row['id']}: answer holds session {other.group(2)}'s marker")
    for session, logged in sorted(logged_of.items()):
        if len(logged) != 1:
            problems.append(f"session {session}'s prompts are spread over {len(logged)} logged sessions")
    for logged, sessions in run_of.items():
        if len(sessions) != 1:
            problems.append(f"logged session {logged} holds prompts of sessions {sorted(sessions)}")
    for reply in replies:
        turn_id = reply.decision.get("turn_id")
        if turn_id is None:
            continue
        row = row_by_id.get(int(turn_id))
        if row is None or marker(run, reply.session, reply.turn) not in (row["prompt"] or ""):
            problems.append(f"session {reply.session} turn {reply.turn}: its turn_id {turn_id} "
                            "is not the row of its prompt")
    if not rows and any(r.answered for r in replies):
        problems.append(f"no row of this run in {log_path} (is it the app's LCIO_LOG_PATH?)")
    return problems


@dataclass(frozen=True)
class DecisionTime:
    """One logged decision: wall clock and thread CPU (ms), and the deciding thread's context
    switches meanwhile. Voluntary: it waited (for the GIL or a lock). Involuntary: the OS gave
    its core to another thread or process."""

    wall_ms: float
    cpu_ms: float
    voluntary: int = 0
    involuntary: int = 0


def decision_times(log_path: Path, run: str) -> list[DecisionTime]:
    """The policy's decision times of this run's logged turns."""
    db = sqlite3.connect(f"file:{log_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute("SELECT decision FROM turns WHERE prompt LIKE ?", (f"%{run}%",)).fetchall()
    finally:
        db.close()
    times = []
    for (raw,) in rows:
        decision = json.loads(raw or "{}") or {}
        if "decide_ms" in decision:
            switches = decision.get("decide_switches") or (0, 0)
            times.append(DecisionTime(float(decision["decide_ms"]), float(decision["decide_cpu_ms"]),
                                      int(switches[0]), int(switches[1])))
    return times


def describe_decisions(times: list[DecisionTime], slow_ms: float = 2.0) -> str:
    """Percentiles, and why the slow ones were slow."""
    wall, cpu = [t.wall_ms for t in times], [t.cpu_ms for t in times]
    slow = [t for t in times if t.wall_ms > slow_ms]
    return (f"policy decision while serving ({len(times)} turns): wall p50 "
            f"{percentile(wall, 50):.3f} ms p99 {percentile(wall, 99):.3f} ms; CPU p50 "
            f"{percentile(cpu, 50):.3f} ms p99 {percentile(cpu, 99):.3f} ms; over {slow_ms:g} ms: "
            f"{len(slow)} (waited: {sum(t.voluntary > 0 for t in slow)}, pre-empted by the OS "
            f"and never waiting: {sum(t.voluntary == 0 and t.involuntary > 0 for t in slow)})")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the running app, e.g. http://127.0.0.1:7860")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--log", type=Path, default=None,
                        help="the app's SQLite log (default: LCIO_LOG_PATH); skipped if absent")
    args = parser.parse_args(argv)
    run = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.sessions) as pool:
        futures = [pool.submit(run_session, args.url, run, i, args.turns)
                   for i in range(1, args.sessions + 1)]
        replies = [reply for future in futures for reply in future.result()]
    wall = time.perf_counter() - started

    answered = [r for r in replies if r.answered]
    latencies = sorted(r.seconds for r in answered)
    where = {loc: sum(1 for r in answered if r.decision.get("location") == loc)
             for loc in ("local", "cloud")}
    fallbacks = sum(1 for r in answered if r.decision.get("fallback"))
    print(f"run {run}: {args.sessions} sessions x {args.turns} turns against {args.url} "
          f"in {wall:.1f} s")
    print(f"answered {len(answered)}/{len(replies)}  failed {len(replies) - len(answered)}  "
          f"(local {where['local']}, cloud {where['cloud']}, fallbacks {fallbacks})")
    print(f"latency per turn: p50 {percentile(latencies, 50):.2f} s  "
          f"p95 {percentile(latencies, 95):.2f} s  max {max(latencies, default=float('nan')):.2f} s")
    for reply in replies:
        if not reply.answered:
            why = reply.error or reply.decision.get("error") or reply.decision.get("status")
            print(f"  failed: session {reply.session} turn {reply.turn}: {why}")

    problems = reply_problems(replies, run)
    log_path = args.log or (Path(os.environ["LCIO_LOG_PATH"]) if os.environ.get("LCIO_LOG_PATH")
                            else None)
    if log_path is not None and log_path.exists():
        problems += log_problems(log_path, run, replies)
        checked = f"replies and log {log_path}"
        print(describe_decisions(decision_times(log_path, run)))
    else:
        checked = "replies only (no log given)"
    print(f"isolation ({checked}): " + ("OK" if not problems else f"{len(problems)} problem(s)"))
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems or not answered else 0


if __name__ == "__main__":
    sys.exit(main())
