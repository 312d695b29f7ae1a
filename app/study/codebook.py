"""What every column of the researcher's CSV export means: written beside the tables as
`codebook.csv` (table, column, type, description), and used by analysis.py to read the
tables back with their types. Times are Unix epoch seconds (UTC); empty cells are missing.
"""

from __future__ import annotations

import csv
import io

T, I, F = "text", "integer", "number"  # noqa: E741

CODEBOOK: dict[str, dict[str, tuple[str, str]]] = {
    "participants": {
        "participant": (T, "anonymous participant id (p- + 16 hex digits); opens nothing"),
        "seq": (I, "arrival number, 0-based, unique across all app replicas"),
        "created": (F, "when they consented"),
        "conditions": (T, "assigned condition order (between-subject: one name; ' → ' joins)"),
        "answered": (I, "answered turns (pairwise: each side counts)"),
        "rated": (I, "turns rated 1-5 (Likert mode)"),
        "last_active": (F, "when they last sent a message"),
        "questionnaire_ts": (F, "when they submitted the questionnaire"),
        "external_id": (T, "the panel's participant id from the URL (e.g. PROLIFIC_PID)"),
        "study_ref": (T, "the panel's study id from the URL (e.g. STUDY_ID)"),
        "session_ref": (T, "the panel's session id from the URL (e.g. SESSION_ID)"),
        "consent_version": (T, "version of the consent text they agreed to"),
        "outcome": (T, "complete | screened_out | empty while in progress"),
        "ended_ts": (F, "when the outcome was reached"),
        "attention_answered": (I, "attention checks answered"),
        "attention_failed": (I, "attention checks answered wrongly"),
        "excluded": (I, "1 if the attention rule leaves them out of the analysis"),
        "repeat_of": (T, "admitted although their panel id was already in the study (rule "
                         "'flag'): the first participant with that id; empty otherwise"),
    },
    "turns": {
        "study_turn": (I, "row id of the turn in the study"),
        "participant": (T, "participant id"),
        "turn": (I, "0-based index of the rated turn / comparison"),
        "task": (I, "0-based task index"),
        "condition": (T, "the condition that answered"),
        "side": (T, "pairwise: A (left) or B (right); empty in Likert mode"),
        "status": (T, "answered | failed | rejected | interrupted | pending"),
        "prompt": (T, "what the participant sent"),
        "files": (T, "JSON list of attached file names"),
        "answer": (T, "the answer shown"),
        "rating": (I, "Likert mode: 1 (poor) to 5 (excellent)"),
        "comment": (T, "optional comment with the rating"),
        "submitted_ts": (F, "when the message was sent"),
        "answered_ts": (F, "when the answer finished"),
        "rated_ts": (F, "when it was rated"),
        "session_id": (T, "engine session (participant.condition): its own budgets"),
        "policy": (T, "the policy that decided"),
        "location": (T, "local | cloud: where the answer was computed"),
        "model": (T, "the model that answered"),
        "attachments_used": (T, "JSON list of sha256 of the attachments sent to the model"),
        "probability": (F, "the policy's probability of the action taken"),
        "fallback": (T, "why another action than the policy's was taken, if any"),
        "ttft_s": (F, "seconds to the first token"),
        "latency_s": (F, "seconds to the full answer"),
        "cost_usd": (F, "dollars charged for the turn"),
        "energy_j": (F, "local energy in joules"),
        "prompt_tokens": (I, "prompt tokens"),
        "completion_tokens": (I, "answer tokens"),
        "log_turn_id": (I, "row id in the engine's turn log"),
    },
    "votes": {
        "id": (I, "row id of the vote"),
        "participant": (T, "participant id"),
        "turn": (I, "0-based comparison index"),
        "left_condition": (T, "condition shown as answer A (left)"),
        "right_condition": (T, "condition shown as answer B (right)"),
        "left_turn": (I, "study_turn of answer A"),
        "right_turn": (I, "study_turn of answer B"),
        "vote": (T, "A | B | tie | both_bad"),
        "winner": (T, "the winning condition; empty for tie or both_bad"),
        "rating_left": (I, "optional 1-5 rating of answer A"),
        "rating_right": (I, "optional 1-5 rating of answer B"),
        "ts": (F, "when the vote was cast"),
    },
    "questionnaire": {
        "participant": (T, "participant id"),
        "item": (T, "questionnaire item id (see the study config)"),
        "answer": (T, "their answer"),
        "ts": (F, "when it was submitted"),
    },
    "repeats": {
        "external_id": (T, "a panel id that arrived again (e.g. PROLIFIC_PID)"),
        "first_participant": (T, "the first participant who arrived with it"),
        "participant": (T, "the participant made for the repeat (rule 'flag'); empty if refused"),
        "decision": (T, "refused (screen-out code shown, nobody made) | admitted (flagged)"),
        "ts": (F, "when the repeat consent came"),
    },
    "attention": {
        "participant": (T, "participant id"),
        "item": (T, "attention check id (see the study config)"),
        "answer": (T, "their answer"),
        "correct": (I, "1 if it was the known right answer"),
        "ts": (F, "when it was answered"),
    },
}


def codebook_csv() -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["file", "column", "type", "description"])
    for table, columns in CODEBOOK.items():
        for column, (kind, text) in columns.items():
            writer.writerow([f"study-{table}.csv", column, kind, text])
    return buf.getvalue()


def parse(table: str, row: dict[str, str]) -> dict[str, object]:
    """A CSV row with its codebook types (empty cells: None)."""
    out: dict[str, object] = {}
    for column, value in row.items():
        kind = CODEBOOK[table].get(column, (T, ""))[0]
        if value == "" or value is None:
            out[column] = None
        elif kind == I:
            out[column] = int(float(value))
        elif kind == F:
            out[column] = float(value)
        else:
            out[column] = value
    return out
