"""The Gradio page: the conversation gets most of the room; a compact side column (it wraps
below the chat on a phone) holds the card for the turn in progress, the budgets and charts.

Every answer in the chat carries its decision as a collapsible panel (Gradio message
metadata, `app.explain`): where, why in words, expected vs actual, what was left out.
Before sending, the person may overrule: force local or cloud, or untick attachments
(`engine.Overrule`; untouched, the policy decides). The upload control lists what the app
takes (`backends.media.ACCEPTED_EXTENSIONS`); anything else reaches the engine, which says
so in the chat rather than the browser dropping it.

Handlers are plain functions of (inputs, Session) so tests call them without a browser.
One streaming generator per turn yields the decision first (before any text), then the
answer as it streams, then the budgets and charts. State is per browser session
(`gr.State`); the local model is shared and serialised by its own lock, cloud turns run
concurrently (`concurrency_limit` on the turn events).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from app.card import decision_card, decision_data, empty_card, totals_markdown
from app.charts import budget_gauges, learning_chart, per_turn_chart
from app.client_address import client_address, keep_tcp_peer
from app.demo import DEMO_LIMIT, DEMO_NOTE, add_examples, start_limit
from app.engine import Engine, Overrule, TurnEvent, TurnRecord
from app.explain import decision_messages
from app.exports import export_folder
from app.intake import clean_text
from app.page_settings import session_budget, session_weights
from app.safe_text import safe_markdown
from app.savings import METHOD
from app.session import BudgetLedger, Cost, Session
from backends.media import ACCEPTED_EXTENSIONS
from policies import roster
from policies.base import RewardWeights

TURN_CONCURRENCY = 8  # cloud turns overlap; local ones queue on the model's lock

Rater = Callable[[Session, int, int | None, int | None], str]
WHERE = [("Let LCIO decide", "auto"), ("Local", "local"), ("Cloud", "cloud")]
DEFAULT_WEIGHTS = RewardWeights()  # the sliders start at the contract's defaults
ACCEPTS = "Accepts images and audio: " + " ".join(ACCEPTED_EXTENSIONS)


def _files_of(message: dict | str | None) -> tuple[str, list[str]]:
    """(text, file paths) from a MultimodalTextbox value (dict) or plain text: every page's
    entrance (chat and study). The text is made valid Unicode here, before it reaches the
    history, the log or a model: a lone surrogate echoed back in the history made Gradio's
    reply fail ("surrogates not allowed") after the turn had been logged."""
    if message is None:
        return "", []
    if isinstance(message, str):
        return clean_text(message), []
    files = []
    for f in message.get("files") or []:
        files.append(f if isinstance(f, str) else (f.get("path") or f.get("name") or ""))
    return clean_text(str(message.get("text") or "")), [f for f in files if f]


def overrule_of(where: str | None, keep: list[str] | None, offered: list[str] | None,
                files: list[str]) -> Overrule | None:
    """The person's say for this turn; None when untouched (the policy decides)."""
    location = where if where in ("local", "cloud") else None
    offered_set, kept = set(offered or []), set(keep or [])
    drop = frozenset(str(Path(f)) for f, label in zip(files, attachment_labels(files), strict=True)
                     if label in offered_set and label not in kept)
    return Overrule(location, drop) if location or drop else None


def attachment_labels(files: list[str]) -> list[str]:
    """One checkbox label per file, numbered so two uploads of one name are told apart."""
    return [f"{i}. {Path(f).name}" for i, f in enumerate(files, 1)]


class ChatUI:
    """Holds the engine and what the page shows about the models; builds the Blocks."""

    def __init__(self, engine: Engine, models: dict[str, str], policy_names: list[str],
                 rate: Rater | None = None,
                 learning_points: Callable[[str], list[dict]] | None = None,
                 default_session: Callable[[], Session] | None = None) -> None:
        self.engine = engine
        self.models = models
        self.policy_names = policy_names
        self.rate_fn = rate
        # One session's learning points (by session id): nobody sees another's ratings.
        self.learning_points = learning_points or (lambda session_id: [])
        self.default_session = default_session or (lambda: Session(
            policy_name=policy_names[0], ledger=BudgetLedger(limit=start_limit())))

    # -- handlers (plain functions; the tests call these) ----------------------------------

    def respond(self, message: dict | str | None, history: list[dict] | None,
                session: Session | None, where: str | None = None, keep: list[str] | None = None,
                offered: list[str] | None = None, request: gr.Request | None = None
                ) -> Iterator[tuple[Any, ...]]:
        """One chat turn for the page: user message + decision first, then the answer.

        Yields (chatbot, textbox, card, gauges, totals, per-turn chart, session). The turn's
        decision panel (and its nested details) sits just above its answer in the chat.
        """
        session = session or self.default_session()
        self._seen_from(session, request)  # an overrule teaches too
        history = list(history or [])
        earlier = list(history)
        text, files = _files_of(message)
        for path in files:
            history.append({"role": "user", "content": {"path": path}})
        if text.strip():  # blank text gets no empty bubble: the engine's message says why
            history.append({"role": "user", "content": safe_markdown(text)})
        base = len(history)  # the turn's panel and answer start here
        skip = gr.skip()
        box = gr.MultimodalTextbox(value=None, interactive=False)
        actions: list[Any] = []
        overrule = overrule_of(where, keep, offered, files)
        for event in _guarded(self.engine.run(session, text, files, overrule=overrule),
                              session, text):
            rec = event.record
            if event.kind == "rejected":
                # The earlier chat stays; refused files are named in the message, not shown
                # (a pixel bomb is never handed to the browser); the box is emptied.
                history = [*earlier,
                           *([{"role": "user", "content": safe_markdown(text)}] if text.strip() else []),
                           {"role": "assistant", "content": f"⚠️ {safe_markdown(rec.error)}"}]
                yield (list(history), gr.MultimodalTextbox(value=None, interactive=True),
                       decision_card(rec, self.models), skip, skip, skip, session)
                return
            if not actions:
                actions = self.engine.policy_for(session.policy_name).space.actions
            card = decision_card(rec, self.models, session, actions)
            if event.kind in ("decision", "fallback"):
                history[base:] = [*decision_messages(rec, session, actions),
                                  {"role": "assistant", "content": ""}]
                yield (list(history), box if event.kind == "decision" else skip, card,
                       skip, skip, skip, session)
            elif event.kind == "delta":
                history[-1] = {"role": "assistant", "content": _shown(rec)}
                yield list(history), skip, skip, skip, skip, skip, session
            elif event.kind == "done":
                history[base:] = [*decision_messages(rec, session, actions),
                                  {"role": "assistant", "content": _shown(rec)}]
                for i in range(base, len(history)):
                    session.message_turn[i] = rec.turn_id
                yield (list(history), gr.MultimodalTextbox(value=None, interactive=True), card,
                       budget_gauges(session.ledger, session.per_turn, _cloud_worst(rec, actions)),
                       totals_markdown(session),
                       per_turn_chart(session.per_turn), session)

    @staticmethod
    def offer(message: dict | str | None, offered: list[str] | None) -> tuple[Any, Any, Any]:
        """The box's files as ticked checkboxes, the labels offered and kept (only when the
        files change, so a person's unticking survives their typing)."""
        names = attachment_labels(_files_of(message)[1])
        if names == list(offered or []):
            return gr.skip(), gr.skip(), gr.skip()
        return gr.CheckboxGroup(choices=names, value=names, visible=bool(names)), names, names

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
        """Start over with the settings panel's budgets, weights and policy (budgets within
        the configured maxima: a stranger cannot give themselves an unbounded cloud budget)."""
        config = self.engine.settings
        limit, notes = session_budget(((usd, config.max_session_usd, "cloud budget", "$"),
                                       (latency_s, config.max_session_s, "waiting budget", "s"),
                                       (energy_j, config.max_session_j, "energy budget", "J")))
        weights, weight_notes = session_weights((w_quality, w_latency, w_cost))
        notes += weight_notes
        policy = roster.canonical(policy)  # a former name still picks its policy
        session = Session(policy_name=policy if policy in self.policy_names else self.policy_names[0],
                          ledger=BudgetLedger(limit=Cost(usd=limit[0], latency_s=limit[1],
                                                         energy_j=limit[2])), weights=weights)
        note = f"New session {session.id} with policy **{session.policy_name}**."
        if notes:
            note += " " + " ".join(notes)
        return (session, [], empty_card(), budget_gauges(session.ledger, []), totals_markdown(session),
                per_turn_chart([]), note)

    def _seen_from(self, session: Session | None, request: gr.Request | None) -> None:
        """Note the caller's address on the session before it can teach: all sessions of
        one address teach the shared prior as one rater (app/online.py)."""
        if session is not None and request is not None:
            cfg = self.engine.settings
            session.client = client_address(request, cfg.trust_forwarded_for,
                                            cfg.forwarded_hops)

    def on_like(self, session: Session | None, data: gr.LikeData,
                request: gr.Request | None = None) -> tuple[str, Any]:
        self._seen_from(session, request)
        index = data.index if isinstance(data.index, int) else data.index[0]
        thumbs = 1 if data.liked is True else -1 if data.liked is False else None
        return self._rate(session, session.message_turn.get(index) if session else None,
                          thumbs, None)

    def rate_last(self, stars: int | str | None, session: Session | None,
                  request: gr.Request | None = None) -> tuple[str, Any]:
        """1–5 stars for the latest answered turn."""
        self._seen_from(session, request)
        if not stars:
            return "Pick 1–5 stars first.", gr.skip()
        turn_id = session.turn_ids[-1] if session and session.turn_ids else None
        return self._rate(session, turn_id, None, int(stars))

    def _rate(self, session: Session | None, turn_id: int | None, thumbs: int | None,
              stars: int | None) -> tuple[str, Any]:
        if session is None or turn_id is None:
            return "There is no answer to rate yet.", gr.skip()
        note = self.rate_fn(session, turn_id, thumbs, stars) if self.rate_fn else "Thanks."
        return note, learning_chart(self.learning_points(session.id))

    def export(self, fmt: str, session: Session | None) -> str | None:
        """This session's log as CSV/JSONL, for download: never another session's rows.

        Each export gets its own folder with an unguessable name, readable only by this
        process; Gradio serves the copy it makes of the returned file, and nothing else
        (everything in the log is `python -m app.tools.export_log`, run where the log lives).
        """
        if session is None:
            return None
        ext = "jsonl" if str(fmt).lower().startswith("json") else "csv"
        folder = export_folder()
        path = folder / f"lcio-log-{session.id}.{ext}"
        path.write_text(self.engine.store.export(ext, session.id), encoding="utf-8")
        return str(path)

    # -- page -----------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        keep_tcp_peer()  # before Gradio starts uvicorn: a header cannot pick the rater
        limit = start_limit()  # the demo budget on a Space (app/demo.py)
        with gr.Blocks(title="LCIO — local–cloud offloading chat") as demo:
            session = gr.State(self.default_session)
            offered = gr.State([])
            kept = gr.State([])  # the labels ticked in `keep`, as the turn reads them
            gr.Markdown("### LCIO — a chat that decides, turn by turn, where each answer is computed")
            gr.Markdown(self._models_line(), elem_id="models-in-use")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=340):
                    chatbot = gr.Chatbot(height="70vh", elem_id="chat", label="Chat",
                                         feedback_options=("Like", "Dislike"))
                    # Every file is let in (no file_types): Gradio's own filter drops others
                    # before the app sees them, and the chat must name what it cannot take.
                    box = gr.MultimodalTextbox(
                        file_count="multiple", file_types=None, sources=["upload", "microphone"],
                        stop_btn=True, elem_id="msg", info=ACCEPTS, show_label=False,
                        placeholder="Ask something; attach images or audio, or record a question.")
                    keep = gr.CheckboxGroup([], label="Send these attachments (untick to keep one back)",
                                            visible=False, elem_id="keep")
                    with gr.Row(equal_height=False):
                        where = gr.Radio(WHERE, value="auto", label="Where to answer (this turn)",
                                         elem_id="where", scale=3, min_width=260)
                        stars = gr.Radio(["1", "2", "3", "4", "5"], label="Rate the last answer",
                                         elem_id="stars", scale=2, min_width=220)
                        rate_btn = gr.Button("Rate", scale=0, elem_id="rate", size="sm", min_width=70)
                    add_examples(box, where)
                    note = gr.Markdown(elem_id="note")
                with gr.Column(scale=1, min_width=300, elem_id="side"):
                    with gr.Accordion("This turn", open=True, elem_id="side-turn"):
                        card = gr.HTML(empty_card(), elem_id="decision-card")
                    with gr.Accordion("Budget", open=True, elem_id="side-budget"):
                        gauges = gr.HTML(budget_gauges(BudgetLedger(limit=limit)), elem_id="gauges")
                        totals = gr.Markdown(elem_id="totals")
                        with gr.Accordion("How 'what was saved' is worked out", open=False,
                                          elem_id="savings-method"):
                            gr.Markdown(METHOD)
                    with gr.Accordion("Charts", open=False, elem_id="side-charts"):
                        chart = gr.Plot(per_turn_chart([]), elem_id="per-turn", show_label=False)
                        learn = gr.Plot(learning_chart([]), elem_id="learning",
                                        show_label=False)
            with gr.Accordion("Settings: budgets, reward weights, policy", open=False):
                demo_btn = gr.Button("Use the demo budget (small, so the examples make it bind)",
                                     elem_id="demo-budget", size="sm")
                with gr.Row():
                    b_usd = gr.Number(limit.usd, label="Cloud budget ($)", minimum=0,
                                      elem_id="b-usd")
                    b_lat = gr.Number(limit.latency_s, label="Waiting budget (s)", minimum=0,
                                      elem_id="b-lat")
                    b_en = gr.Number(limit.energy_j, label="Local energy budget (J)", minimum=0,
                                     elem_id="b-en")
                with gr.Row():
                    w_q = gr.Slider(0, 2, DEFAULT_WEIGHTS.quality, step=0.05, label="Weight: quality")
                    w_l = gr.Slider(0, 2, DEFAULT_WEIGHTS.latency, step=0.05, label="Weight: latency")
                    w_c = gr.Slider(0, 2, DEFAULT_WEIGHTS.cost, step=0.05, label="Weight: cost")
                    policy = gr.Dropdown(self.policy_names, value=self.policy_names[0],
                                         label="Policy", elem_id="policy")
                new_btn = gr.Button("Start a new session with these settings", elem_id="new")
                with gr.Row():
                    fmt = gr.Radio(["CSV", "JSONL"], value="CSV", label="Export format")
                    export_btn = gr.Button("Export this session's log")
                    export_file = gr.File(label="Log", elem_id="export-file")

            # A turn reads the ticks from a State: sent right after a turn with files, stale
            # ticks are "not in the list of choices" to Gradio, which refused the turn.
            box.change(self.offer, [box, offered], [keep, offered, kept], queue=False,
                       api_visibility="private", show_progress="hidden")
            keep.input(lambda ticked: list(ticked or []), [keep], [kept], queue=False,
                       api_visibility="private", show_progress="hidden")
            turn = box.submit(self.respond, [box, chatbot, session, where, kept, offered],
                              [chatbot, box, card, gauges, totals, chart, session],
                              api_name="respond", concurrency_id="turns",
                              concurrency_limit=TURN_CONCURRENCY, show_progress="hidden")
            box.stop(self.stop, [session], [note], api_name="stop", queue=False)
            turn.then(lambda: (gr.MultimodalTextbox(interactive=True), "auto"), None, [box, where],
                      api_visibility="private", queue=False)
            chatbot.like(self.on_like, [session], [note, learn], api_name="like")
            rate_btn.click(self.rate_last, [stars, session], [note, learn], api_name="rate")
            new_btn.click(self.new_session, [b_usd, b_lat, b_en, w_q, w_l, w_c, policy],
                          [session, chatbot, card, gauges, totals, chart, note],
                          api_name="new_session")
            demo_btn.click(lambda: (DEMO_LIMIT.usd, DEMO_LIMIT.latency_s, DEMO_LIMIT.energy_j),
                           None, [b_usd, b_lat, b_en], queue=False, api_visibility="private").then(
                self.new_session, [b_usd, b_lat, b_en, w_q, w_l, w_c, policy],
                [session, chatbot, card, gauges, totals, chart, note], api_visibility="private").then(
                lambda n: f"{n} {DEMO_NOTE}", [note], [note], queue=False, api_visibility="private")
            export_btn.click(self.export, [fmt, session], [export_file], api_name="export")

            # `/chat` for scripts and studies: hidden components, same engine and state.
            api_in = gr.MultimodalTextbox(visible=False, file_count="multiple")
            api_answer = gr.Textbox(visible=False)
            api_decision = gr.JSON(visible=False)
            api_btn = gr.Button(visible=False)
            api_btn.click(self.chat_api, [api_in, session], [api_answer, api_decision, session],
                          api_name="chat", concurrency_id="turns",
                          concurrency_limit=TURN_CONCURRENCY)
            demo.load(lambda s: (budget_gauges(s.ledger, s.per_turn), totals_markdown(s)), [session],
                      [gauges, totals], api_visibility="private", queue=False)
        return demo

    def _models_line(self) -> str:
        # A cloud endpoint names its own model: shown as text, never as markup.
        note = self.models.get("cloud_note")
        calibration = self.models.get("calibration")  # the policy's cloud (app/calibration.py)
        return (f"**Local:** {safe_markdown(self.models.get('local', '?'))} · "
                f"**Cloud:** {safe_markdown(self.models.get('cloud', '?'))} · "
                f"**Policy options:** {', '.join(self.policy_names)}"
                + (f"  \n{safe_markdown(note)}" if note else "")
                + (f"  \n{safe_markdown(calibration)}" if calibration else ""))


def _cloud_worst(record: TurnRecord, actions: list[Any]) -> float | None:
    """The guard's cheapest worst case for a cloud answer at the last turn (for the warning)."""
    costs = [w.usd for a, w in zip(actions, record.worst, strict=False) if a.location == "cloud"]
    return min(costs) if costs else None


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
    """The answer as the chat shows it (inert Markdown), with a note when something went wrong."""
    text = safe_markdown(record.answer)
    if record.fallback:
        text = f"_({safe_markdown(record.fallback)})_\n\n{text}"
    if record.status == "failed":
        text = f"{text}\n\n⚠️ {safe_markdown(record.error)}".strip()
    elif record.status == "cancelled":
        text = f"{text}\n\n_(stopped)_".strip()
    return text
