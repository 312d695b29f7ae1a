"""The Gradio page: chat on the left, decision card, budget gauges and charts on the right.

Handlers are plain functions of (inputs, Session) so tests call them without a browser.
One streaming generator per turn yields the decision card first (before any text), then
the answer as it streams, then the gauges and charts. State is per browser session
(`gr.State`); the local model is shared and serialised by its own lock, cloud turns run
concurrently (`concurrency_limit` on the turn events).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from app.card import decision_card, decision_data, empty_card, totals_markdown
from app.charts import budget_gauges, learning_chart, per_turn_chart
from app.engine import Engine, TurnEvent, TurnRecord
from app.session import BudgetLedger, Cost, RewardWeights, Session

TURN_CONCURRENCY = 8  # cloud turns overlap; local ones queue on the model's lock
EXPORT_DIR = Path(tempfile.gettempdir()) / "lcio-exports"

Rater = Callable[[Session, int, int | None, int | None], str]


def _files_of(message: dict | str | None) -> tuple[str, list[str]]:
    """(text, file paths) from a MultimodalTextbox value (dict) or plain text."""
    if message is None:
        return "", []
    if isinstance(message, str):
        return message, []
    files = []
    for f in message.get("files") or []:
        files.append(f if isinstance(f, str) else (f.get("path") or f.get("name") or ""))
    return message.get("text") or "", [f for f in files if f]


class ChatUI:
    """Holds the engine and what the page shows about the models; builds the Blocks."""

    def __init__(self, engine: Engine, models: dict[str, str], policy_names: list[str],
                 rate: Rater | None = None,
                 learning_points: Callable[[], list[dict]] | None = None,
                 default_session: Callable[[], Session] | None = None) -> None:
        self.engine = engine
        self.models = models
        self.policy_names = policy_names
        self.rate_fn = rate
        self.learning_points = learning_points or (lambda: [])
        self.default_session = default_session or (lambda: Session(policy_name=policy_names[0]))

    # -- handlers (plain functions; the tests call these) ----------------------------------

    def respond(self, message: dict | str | None, history: list[dict] | None,
                session: Session | None) -> Iterator[tuple[Any, ...]]:
        """One chat turn for the page: user message + decision card first, then the answer.

        Yields (chatbot, textbox, card, gauges, totals, per-turn chart, session).
        """
        session = session or self.default_session()
        history = list(history or [])
        earlier = list(history)
        text, files = _files_of(message)
        for path in files:
            history.append({"role": "user", "content": {"path": path}})
        if text or not files:
            history.append({"role": "user", "content": text})
        skip = gr.skip()
        box = gr.MultimodalTextbox(value=None, interactive=False)
        for event in _guarded(self.engine.run(session, text, files), session, text):
            rec = event.record
            if event.kind == "rejected":
                # The earlier chat stays; refused files are named in the message, not shown
                # (a pixel bomb is never handed to the browser); the box is emptied.
                history = [*earlier, *([{"role": "user", "content": text}] if text else []),
                           {"role": "assistant", "content": f"⚠️ {rec.error}"}]
                yield (list(history), gr.MultimodalTextbox(value=None, interactive=True),
                       decision_card(rec, self.models), skip, skip, skip, session)
                return
            if event.kind == "decision":
                history.append({"role": "assistant", "content": ""})
                yield list(history), box, decision_card(rec, self.models), skip, skip, skip, session
            elif event.kind == "fallback":
                history[-1] = {"role": "assistant", "content": ""}
                yield list(history), skip, decision_card(rec, self.models), skip, skip, skip, session
            elif event.kind == "delta":
                history[-1] = {"role": "assistant", "content": _shown(rec)}
                yield list(history), skip, skip, skip, skip, skip, session
            elif event.kind == "done":
                history[-1] = {"role": "assistant", "content": _shown(rec)}
                session.message_turn[len(history) - 1] = rec.turn_id
                yield (list(history), gr.MultimodalTextbox(value=None, interactive=True),
                       decision_card(rec, self.models), budget_gauges(session.ledger),
                       totals_markdown(session), per_turn_chart(session.per_turn), session)

    def chat_api(self, message: dict | str | None, session: Session | None
                 ) -> Iterator[tuple[str, dict, Session]]:
        """`/chat` for scripts: text + files in; the answer so far and the decision out."""
        session = session or self.default_session()
        text, files = _files_of(message)
        record: TurnRecord | None = None
        for event in _guarded(self.engine.run(session, text, files), session, text):
            record = event.record
            if event.kind in ("decision", "done", "rejected", "fallback"):
                answer = record.answer if event.kind != "rejected" else f"⚠️ {record.error}"
                yield answer, decision_data(record), session

    def stop(self, session: Session | None) -> str:
        if session is not None and self.engine.stop(session.id):
            return "Stopping the answer…"
        return ""

    def new_session(self, usd: float, latency_s: float, energy_j: float, w_quality: float,
                    w_latency: float, w_cost: float, policy: str
                    ) -> tuple[Session, list, str, Any, str, Any, str]:
        """Start over with the settings panel's budgets, weights and policy."""
        session = Session(policy_name=policy if policy in self.policy_names else self.policy_names[0],
                          ledger=BudgetLedger(limit=Cost(max(0.0, float(usd)),
                                                         max(0.0, float(latency_s)),
                                                         max(0.0, float(energy_j)))),
                          weights=RewardWeights(float(w_quality), float(w_latency), float(w_cost)))
        return (session, [], empty_card(), budget_gauges(session.ledger), totals_markdown(session),
                per_turn_chart([]), f"New session {session.id} with policy **{session.policy_name}**.")

    def on_like(self, session: Session | None, data: gr.LikeData) -> tuple[str, Any]:
        index = data.index if isinstance(data.index, int) else data.index[0]
        thumbs = 1 if data.liked is True else -1 if data.liked is False else None
        return self._rate(session, session.message_turn.get(index) if session else None,
                          thumbs, None)

    def rate_last(self, stars: int | str | None, session: Session | None) -> tuple[str, Any]:
        """1–5 stars for the latest answered turn."""
        if not stars:
            return "Pick 1–5 stars first.", gr.skip()
        turn_id = session.turn_ids[-1] if session and session.turn_ids else None
        return self._rate(session, turn_id, None, int(stars))

    def _rate(self, session: Session | None, turn_id: int | None, thumbs: int | None,
              stars: int | None) -> tuple[str, Any]:
        if session is None or turn_id is None:
            return "There is no answer to rate yet.", gr.skip()
        note = self.rate_fn(session, turn_id, thumbs, stars) if self.rate_fn else "Thanks."
        return note, learning_chart(self.learning_points())

    def export(self, fmt: str, session: Session | None, scope: str) -> str:
        """Write the log as CSV/JSONL to a file the page offers for download."""
        EXPORT_DIR.mkdir(parents=True, exist_ok=True)
        sid = session.id if (session and scope == "this session") else None
        ext = "jsonl" if fmt.lower().startswith("json") else "csv"
        path = EXPORT_DIR / f"lcio-log-{sid or 'all'}-{int(time.time())}.{ext}"
        path.write_text(self.engine.store.export(ext, sid), encoding="utf-8")
        return str(path)

    # -- page -----------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="LCIO — local–cloud offloading chat") as demo:
            session = gr.State(self.default_session)
            gr.Markdown("## LCIO — a chat that decides, turn by turn, where each answer is computed")
            gr.Markdown(self._models_line(), elem_id="models-in-use")
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(height=480, elem_id="chat", label="Chat",
                                         feedback_options=("Like", "Dislike"))
                    # Every file is let in (no file_types): Gradio's own filter drops others
                    # before the app sees them, and the chat must name what it cannot take.
                    box = gr.MultimodalTextbox(
                        file_count="multiple", file_types=None,
                        sources=["upload", "microphone"], stop_btn=True, elem_id="msg",
                        placeholder="Ask something; attach images or audio, or record a question.",
                        show_label=False)
                    with gr.Row():
                        stars = gr.Radio(["1", "2", "3", "4", "5"], label="Rate the last answer",
                                         elem_id="stars", scale=3)
                        rate_btn = gr.Button("Rate", scale=1, elem_id="rate")
                    note = gr.Markdown(elem_id="note")
                with gr.Column(scale=2):
                    card = gr.HTML(empty_card(), elem_id="decision-card", label="Decision")
                    gauges = gr.Plot(budget_gauges(BudgetLedger()), elem_id="gauges",
                                     show_label=False)
                    totals = gr.Markdown(elem_id="totals")
                    chart = gr.Plot(per_turn_chart([]), elem_id="per-turn", show_label=False)
                    learn = gr.Plot(learning_chart(self.learning_points()), elem_id="learning",
                                    show_label=False)
            with gr.Accordion("Settings: budgets, reward weights, policy", open=False):
                with gr.Row():
                    b_usd = gr.Number(0.05, label="Cloud budget ($)", minimum=0, elem_id="b-usd")
                    b_lat = gr.Number(300, label="Waiting budget (s)", minimum=0, elem_id="b-lat")
                    b_en = gr.Number(3000, label="Local energy budget (J)", minimum=0,
                                     elem_id="b-en")
                with gr.Row():
                    w_q = gr.Slider(0, 2, 1.0, step=0.05, label="Weight: quality")
                    w_l = gr.Slider(0, 2, 1 / 3, step=0.05, label="Weight: latency")
                    w_c = gr.Slider(0, 2, 1 / 3, step=0.05, label="Weight: cost")
                    policy = gr.Dropdown(self.policy_names, value=self.policy_names[0],
                                         label="Policy", elem_id="policy")
                new_btn = gr.Button("Start a new session with these settings", elem_id="new")
                with gr.Row():
                    fmt = gr.Radio(["CSV", "JSONL"], value="CSV", label="Export format")
                    scope = gr.Radio(["this session", "all sessions"], value="this session",
                                     label="Export")
                    export_btn = gr.Button("Export log")
                    export_file = gr.File(label="Log", elem_id="export-file")

            turn = box.submit(self.respond, [box, chatbot, session],
                              [chatbot, box, card, gauges, totals, chart, session],
                              api_name="respond", concurrency_id="turns",
                              concurrency_limit=TURN_CONCURRENCY, show_progress="hidden")
            box.stop(self.stop, [session], [note], api_name="stop", queue=False)
            turn.then(lambda: gr.MultimodalTextbox(interactive=True), None, [box],
                      api_visibility="private", queue=False)
            chatbot.like(self.on_like, [session], [note, learn], api_name="like")
            rate_btn.click(self.rate_last, [stars, session], [note, learn], api_name="rate")
            new_btn.click(self.new_session, [b_usd, b_lat, b_en, w_q, w_l, w_c, policy],
                          [session, chatbot, card, gauges, totals, chart, note],
                          api_name="new_session")
            export_btn.click(self.export, [fmt, session, scope], [export_file], api_name="export")

            # `/chat` for scripts and studies: hidden components, same engine and state.
            api_in = gr.MultimodalTextbox(visible=False, file_count="multiple")
            api_answer = gr.Textbox(visible=False)
            api_decision = gr.JSON(visible=False)
            api_btn = gr.Button(visible=False)
            api_btn.click(self.chat_api, [api_in, session], [api_answer, api_decision, session],
                          api_name="chat", concurrency_id="turns",
                          concurrency_limit=TURN_CONCURRENCY)
            demo.load(lambda s: (budget_gauges(s.ledger), totals_markdown(s)), [session],
                      [gauges, totals], api_visibility="private", queue=False)
        return demo

    def _models_line(self) -> str:
        return (f"**Local:** {self.models.get('local', '?')} · "
                f"**Cloud:** {self.models.get('cloud', '?')} · "
                f"**Policy options:** {', '.join(self.policy_names)}")


def _guarded(events: Iterator[TurnEvent], session: Session, text: str) -> Iterator[TurnEvent]:
    """The engine's events; should it raise anyway, one "rejected" event that says so, so the
    page never shows a bare "Error" with the bad file stuck in the box."""
    try:
        yield from events
    except Exception as exc:
        logging.getLogger(__name__).exception("turn failed")
        record = TurnRecord(session.id, -1, text, policy=session.policy_name, status="rejected",
                            error=f"This turn failed ({type(exc).__name__}); your conversation "
                                  "is kept. Please try again.")
        yield TurnEvent("rejected", record)


def _shown(record: TurnRecord) -> str:
    """The answer as the chat shows it, with a one-line note when something went wrong."""
    text = record.answer
    if record.fallback:
        text = f"_({record.fallback})_\n\n{text}"
    if record.status == "failed":
        text = f"{text}\n\n⚠️ {record.error}".strip()
    elif record.status == "cancelled":
        text = f"{text}\n\n_(stopped)_".strip()
    return text
