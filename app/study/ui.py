"""The study's pages: the participant's at `/`, the researcher's at `/researcher`.

Participant: consent -> blind chat (no card, no gauges, no model names), a 1–5 rating
and optional comment before the next turn -> questionnaire -> thank-you. Consenting makes
a random secret token that only the participant's browser keeps (`gr.BrowserState`,
keyed and encrypted with values kept in the study's database so they survive restarts);
the server keeps only its hash, bound to the participant. Every participant handler takes
the token, never an id: the id shown on the page is a reference for the participant and
opens nothing. Every participant handler returns `render(View)` only: the whitelist that
keeps the study blind. Consent is rate-limited per address and overall (limits.py).
Researcher: token box, then the dashboard and exports; each handler checks the token,
with lockouts after repeated wrong ones.

Files: only the exact task attachment files are served (never their folder), and the
study refuses to start if its database lies anywhere Gradio serves files from (app/served.py,
the chat's check too).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import gradio as gr

from app.client_address import client_address, keep_tcp_peer
from app.database import database_url, sqlite_file
from app.engine import Engine
from app.safe_text import safe_history, safe_markdown
from app.served import refuse_served_database
from app.study.config import StudyConfig, load_study_config
from app.study.limits import ConsentLimiter
from app.study.pairwise import VOTES, PairwiseService
from app.study.researcher import (
    PARTICIPANT_COLUMNS,
    RANKING_COLUMNS,
    SUMMARY_COLUMNS,
    Researcher,
)
from app.study.service import StudyService, View
from app.study.store import StudyStore
from app.ui import _files_of


def open_study(runtime: Any, config: StudyConfig | None = None) -> StudyService:
    """The study's service on the runtime's shared backends and policies."""
    config = config or load_study_config()
    unknown = [c.policy for c in config.conditions if c.policy not in runtime.policy_names]
    if unknown:  # never substitute another policy silently in an experiment
        raise ValueError(f"study conditions name unknown policies {unknown}; "
                         f"available: {runtime.policy_names}")
    slug = "".join(ch if ch.isalnum() else "-" for ch in config.name.lower()).strip("-")
    # A database server (several replicas) or a SQLite file of the study's own.
    url = database_url(os.environ.get("LCIO_DATABASE_URL") or config.db_path
                       or runtime.settings.cache_dir / f"study-{slug}.sqlite")
    if (file := sqlite_file(url)) is not None:
        refuse_served_database(file, served_files(config))
    store = StudyStore(url, excluded=config.attention_rule.excludes)
    engine = Engine(store.log, runtime.policy, runtime.backend, observe=runtime.observe,
                    settings=runtime.settings, price_usd=runtime.engine.price_usd)
    service = PairwiseService if config.mode == "pairwise" else StudyService
    return service(config, store, engine)


def build_study(runtime: Any, config: StudyConfig | None = None) -> gr.Blocks:
    return StudyUI(open_study(runtime, config)).build()


BUSY = ("Too many people are starting the study right now. Please wait a minute and press "
        "Start again.")


def served_files(config: StudyConfig) -> list[Path]:
    """The task attachments, exactly: the only files of the study that are served."""
    return sorted({a.resolve() for t in config.tasks for a in t.attachments})


def token_hash(token: Any) -> str | None:
    """What the server keeps of a browser's secret token (never the token itself)."""
    if not isinstance(token, str) or len(token) < 16:
        return None
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class StudyUI:
    def __init__(self, service: StudyService) -> None:
        self.service = service
        self.config = service.config
        self.researcher = Researcher(service.config, service.store)
        self.consents = ConsentLimiter(service.config.limits)

    def _address(self, request: gr.Request | None) -> str:
        limits = self.config.limits
        return client_address(request, limits.trust_forwarded_for, limits.forwarded_hops)

    def _pid(self, token: Any) -> str | None:
        """The participant this browser's token is bound to; None for anything else."""
        return self.service.store.participant_for(token_hash(token))

    # -- participant handlers (plain functions; tests call them) ---------------------------

    def render(self, view: View, streaming: bool = False) -> tuple[Any, ...]:
        """View -> component updates, in the order of `self.outputs`."""
        phase = view.phase
        box_value = None if streaming else {"text": view.prompt, "files": []}
        check = view.check or {}
        pairwise = self.config.mode == "pairwise"
        return (
            gr.Column(visible=phase == "consent"),
            gr.Column(visible=phase in ("chat", "rate", "vote")),
            gr.Column(visible=phase == "rate"),
            gr.Column(visible=phase == "vote"),
            gr.Column(visible=phase == "check"),
            gr.Column(visible=phase == "questionnaire"),
            gr.Column(visible=phase in ("done", "screened")),
            view.task, view.progress, safe_history(view.left if pairwise else view.messages),
            gr.MultimodalTextbox(value=box_value, interactive=phase == "chat" and not streaming),
            check.get("text", ""),
            gr.Radio(choices=check.get("choices", []), value=None),
            safe_history(view.right),
            view.end_text, view.redirect, safe_markdown(view.note),
            f"Your anonymous participant id: `{view.participant}`" if view.participant else "",
        )

    def resume(self, token: str | None) -> tuple[Any, ...]:
        return self.render(self.service.view(self._pid(token)))

    def consent(self, agreed: bool, token: str | None, query: str | None = "",
                request: gr.Request | None = None) -> tuple[Any, ...]:
        """Agreeing makes a participant bound to a fresh secret token for this browser;
        `query` is the page's URL query (the panel's ids), recorded, never trusted."""
        pid = self._pid(token)
        if pid is not None or not agreed:
            return (token, *self.render(self.service.consent(bool(agreed), pid)))
        if not self.consents.allow(self._address(request)):
            return (token, *self.render(View("consent", note=BUSY)))
        new_token = secrets.token_urlsafe(32)
        view = self.service.consent(True, token_hash=token_hash(new_token),
                                    recruited=self._recruited(query, request))
        # A refused repeat made nobody: the browser keeps what it had, no token bound to none.
        return (new_token if view.participant else token, *self.render(view))

    def _recruited(self, query: str | None, request: gr.Request | None) -> dict[str, str]:
        """The panel's participant/study/session ids from the page's URL query."""
        params = dict(parse_qsl((query or "").lstrip("?")))
        if not params and request is not None:  # a client that called the API with ?…
            params = dict(getattr(request, "query_params", None) or {})
        rec = self.config.recruitment
        names = {"external_id": rec.participant_param, "study_ref": rec.study_param,
                 "session_ref": rec.session_param}
        return {key: str(params[name]) for key, name in names.items() if params.get(name)}

    def decline(self, token: str | None) -> tuple[Any, ...]:
        pid = self._pid(token)
        if pid is not None:  # already taking part: declining now changes nothing
            return self.render(self.service.view(pid))
        return self.render(self.service.decline())

    def vote(self, token: str | None, choice: str | None, rating_a: str | None,
             rating_b: str | None) -> tuple[Any, ...]:
        service = self.service
        if not isinstance(service, PairwiseService):
            return self.render(service.view(self._pid(token)))
        view = service.vote(self._pid(token), choice, rating_a, rating_b)
        cleared = view.phase != "vote"
        return (*self.render(view), *([None] * 3 if cleared else [gr.skip()] * 3))

    def check(self, token: str | None, answer: str | None) -> tuple[Any, ...]:
        return self.render(self.service.answer_check(self._pid(token), None, answer))

    def send(self, message: dict | str | None, token: str | None) -> Iterator[tuple[Any, ...]]:
        text, files = _files_of(message)
        for view in self.service.send(self._pid(token), text, files):
            yield self.render(view, streaming=view.live)

    def rate(self, token: str | None, stars: str | None, comment: str | None) -> tuple[Any, ...]:
        view = self.service.rate(self._pid(token), stars, comment)
        cleared = view.phase != "rate"
        return (*self.render(view), None if cleared else gr.skip(), "" if cleared else gr.skip())

    def questionnaire(self, token: str | None, *values: Any) -> tuple[Any, ...]:
        answers = {item.id: v for item, v in zip(self.config.questionnaire, values, strict=False)}
        return self.render(self.service.submit_questionnaire(self._pid(token), answers))

    # -- page -----------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        cfg, store = self.config, self.service.store
        files = served_files(cfg)
        if files:  # the tasks' files are shown in the chat: these files, not their folders
            gr.set_static_paths(files)
        if store.path is not None:
            refuse_served_database(store.path)
        keep_tcp_peer()  # before Gradio starts uvicorn: the limits count real peers
        with gr.Blocks(title=cfg.name) as demo:
            gr.Navbar(visible=False, main_page_name=False)
            token = gr.BrowserState(None, storage_key="lcio-study-" + store.secret("storage_key")[:12],
                                  secret=store.secret("browser_secret"))
            gr.Markdown(f"## {cfg.name}")
            with gr.Column(visible=True, elem_id="consent") as consent_col:
                gr.Markdown(cfg.consent, elem_id="consent-text")
                agree = gr.Checkbox(label="I have read the above and agree to take part.",
                                    elem_id="agree")
                with gr.Row():
                    start = gr.Button("Start", variant="primary", elem_id="start")
                    decline = gr.Button("I do not want to take part", elem_id="decline")
            with gr.Column(visible=False, elem_id="chat-area") as chat_col:
                task_md = gr.Markdown(elem_id="task")
                progress = gr.Markdown(elem_id="progress")
                pairwise = cfg.mode == "pairwise"
                with gr.Row(equal_height=True):
                    chatbot = gr.Chatbot(height=420, elem_id="study-chat", buttons=[],
                                         label="Answer A" if pairwise else "Assistant",
                                         feedback_options=None)
                    chatbot_b = gr.Chatbot(height=420, elem_id="study-chat-b", buttons=[],
                                           label="Answer B", feedback_options=None,
                                           visible=pairwise)
                box = gr.MultimodalTextbox(file_count="multiple", file_types=["image", "audio"],
                                           sources=["upload", "microphone"], elem_id="study-msg",
                                           placeholder="Type your message and press Enter.",
                                           show_label=False)
                with gr.Column(visible=False, elem_id="rating") as rate_col:
                    gr.Markdown("**How good was this answer?** (1 = poor, 5 = excellent) "
                                "Please rate it before you continue.")
                    stars = gr.Radio(["1", "2", "3", "4", "5"], label="Rating",
                                     elem_id="stars")
                    comment = gr.Textbox(label="Comment (optional)", lines=2, elem_id="comment")
                    rate_btn = gr.Button("Submit rating", variant="primary", elem_id="rate")
                with gr.Column(visible=False, elem_id="voting") as vote_col:
                    gr.Markdown("**Which answer is better?** Please vote before you continue.")
                    vote = gr.Radio(list(VOTES), label="Your vote", elem_id="vote")
                    with gr.Row(visible=cfg.pair_ratings):
                        rate_a = gr.Radio(["1", "2", "3", "4", "5"], elem_id="rate-a",
                                          label="Answer A, 1 (poor) to 5 (excellent) — optional")
                        rate_b = gr.Radio(["1", "2", "3", "4", "5"], elem_id="rate-b",
                                          label="Answer B, 1 (poor) to 5 (excellent) — optional")
                    vote_btn = gr.Button("Submit vote", variant="primary", elem_id="vote-submit")
            with gr.Column(visible=False, elem_id="attention") as check_col:
                check_md = gr.Markdown(elem_id="check-text")
                check_radio = gr.Radio([], label="Your answer", elem_id="check-choices")
                check_btn = gr.Button("Continue", variant="primary", elem_id="check-submit")
            with gr.Column(visible=False, elem_id="questionnaire") as q_col:
                gr.Markdown("### A few last questions")
                items = []
                for item in cfg.questionnaire:
                    label = item.text + ("" if item.required else " (optional)")
                    if item.kind == "text":
                        items.append(gr.Textbox(label=label, lines=2, elem_id=f"q-{item.id}"))
                    else:
                        items.append(gr.Radio(item.choices, label=label, elem_id=f"q-{item.id}"))
                q_btn = gr.Button("Finish", variant="primary", elem_id="finish")
            with gr.Column(visible=False, elem_id="done") as done_col:
                end_md = gr.Markdown(elem_id="end-text")
            note = gr.Markdown(elem_id="note")
            pid_md = gr.Markdown(elem_id="participant-id")
            query = gr.Textbox(visible=False)  # the page's ?PROLIFIC_PID=…, read by the browser
            redirect = gr.Textbox(visible=False)  # the panel's URL to go back to at the end
            go = {"fn": None, "inputs": [redirect], "js": (
                f"(u) => {{ if (u) setTimeout(() => {{ window.location.href = u; }}, "
                f"{int(cfg.recruitment.redirect_after_s * 1000)}); }}")}

            outputs = [consent_col, chat_col, rate_col, vote_col, check_col, q_col, done_col,
                       task_md, progress, chatbot, box, check_md, check_radio, chatbot_b, end_md,
                       redirect, note, pid_md]
            demo.load(self.resume, [token], outputs, api_name="resume").then(
                None, None, [query], js="() => window.location.search")
            start.click(self.consent, [agree, token, query], [token, *outputs],
                        api_name="consent")
            decline.click(self.decline, [token], outputs, api_name="decline").then(**go)
            vote_btn.click(self.vote, [token, vote, rate_a, rate_b],
                           [*outputs, vote, rate_a, rate_b], api_name="vote")
            check_btn.click(self.check, [token, check_radio], outputs,
                            api_name="attention").then(**go)
            box.submit(self.send, [box, token], outputs, api_name="send", concurrency_id="turns",
                       concurrency_limit=8, show_progress="hidden")
            rate_btn.click(self.rate, [token, stars, comment], [*outputs, stars, comment],
                           api_name="rate")
            q_btn.click(self.questionnaire, [token, *items], outputs,
                        api_name="questionnaire").then(**go)

        with demo.route("Researcher", "researcher", show_in_navbar=False):
            gr.Navbar(visible=False, main_page_name=False)
            self._researcher_page()
        return demo

    def _researcher_page(self) -> None:
        gr.Markdown(f"## {self.config.name} — researcher view")
        with gr.Row():
            token = gr.Textbox(label="Researcher token", type="password", elem_id="token",
                               scale=4)
            open_btn = gr.Button("Open", variant="primary", elem_id="open", scale=1)
        status = gr.Markdown(elem_id="researcher-status")
        with gr.Column(visible=False, elem_id="dashboard") as dash:
            plot = gr.Plot(elem_id="ratings-plot", show_label=False)
            # No headers until the token is checked: the page config is public.
            ranked = gr.Dataframe(label="Pairwise ranking (Bradley–Terry score, 95 % bootstrap CI; "
                                  "win rate counts ties as half)", elem_id="ranking",
                                  interactive=False, visible=self.config.mode == "pairwise")
            summary = gr.Dataframe(label="By condition", elem_id="summary", interactive=False)
            people = gr.Dataframe(label="Participants", elem_id="participants",
                                  interactive=False)
            with gr.Row():
                fmt = gr.Radio(["CSV", "JSONL"], value="CSV", label="Export format",
                               elem_id="export-format")
                export_btn = gr.Button("Export everything", elem_id="export")
            files = gr.File(label="Export", file_count="multiple", elem_id="export-files")
        shown = [status, dash, plot, summary, people, ranked]
        open_btn.click(self.dashboard, [token], shown, api_name="researcher_dashboard",
                       api_visibility="undocumented")
        token.submit(self.dashboard, [token], shown, api_visibility="private")
        export_btn.click(self.export, [token, fmt], [files, status],
                         api_name="researcher_export", api_visibility="undocumented")

    # -- researcher handlers ----------------------------------------------------------------

    def dashboard(self, token: str | None, request: gr.Request | None = None) -> tuple[Any, ...]:
        address = self._address(request)
        data = self.researcher.dashboard(token, address)
        if data is None:
            return self.researcher.message(address), gr.Column(visible=False), None, [], [], []
        return (data["status"], gr.Column(visible=True), data["figure"],
                gr.Dataframe(value=data["summary"], headers=SUMMARY_COLUMNS),
                gr.Dataframe(value=data["participants"], headers=PARTICIPANT_COLUMNS),
                gr.Dataframe(value=data["ranking"], headers=RANKING_COLUMNS))

    def export(self, token: str | None, fmt: str,
               request: gr.Request | None = None) -> tuple[Any, str]:
        address = self._address(request)
        paths = self.researcher.export(token, fmt, address)
        if paths is None:
            return None, self.researcher.message(address)
        return paths, f"Exported {len(paths)} file(s)."

