"""Which of a turn's files go in the policy's attachment slots, and what is asked when a
turn brings files and no words.

The shipped policy is trained on LCIO-Bench (`ActionSpace(3, local_subsets=True)`), where
audio is an attachment like an image: it takes a slot and the policy chooses whether to use
it, on either path (transcribed through perception locally, sent as audio to the cloud). So,
as the bench lays them out, images fill the slots first in upload order and audio follows
them; if there are more files than slots, audio keeps its slots (it usually carries the
question) and the images that do not fit are left out, and said so. For a space without
local subsets (M4A1's, one slot per camera view) audio keeps the old rule: always used,
takes no slot. Earlier turns' attachments are not re-sent: the history carries their text only.
"""

from __future__ import annotations

from collections.abc import Callable

from app.turn import TurnRecord
from backends.base import Accepts, Backend
from backends.types import Attachment
from policies.base import Action, ActionSpace


def place_attachments(record: TurnRecord, space: ActionSpace) -> None:
    """Move `record`'s files to the slots `space` expects; what does not fit goes to `extra`."""
    if space.local_subsets:  # LCIO-Bench layout: images, then audio, each in a slot
        audio, record.always = record.always, []
        n_audio = min(len(audio), space.slots)
        n_images = space.slots - n_audio
        record.extra = record.slots[n_images:] + audio[n_audio:]
        record.slots = record.slots[:n_images] + audio[:n_audio]
        return
    record.extra = record.slots[space.slots:]
    record.slots = record.slots[:space.slots]


def local_index(space: ActionSpace, action: Action) -> int:
    """Index of a local action in `space` (the plain local action if it has no local subsets)."""
    if action in space.actions:
        return space.actions.index(action)
    return space.actions.index(Action("local", ()))


def attachment_prompt(used: list[Attachment]) -> str:
    """The question sent for a turn that brought files and no words."""
    kinds = sorted({a.kind for a in used})
    if kinds == ["audio"]:
        return "Answer the question asked in the audio."
    return "Describe what is attached." if kinds else "Hello."


def refused_actions(actions: list[Action], slots: list[Attachment], always: list[Attachment],
                    backend_for: Callable[[str], Backend]) -> dict[int, str]:
    """Actions that would send a backend a file it does not take (`Backend.accepts`), and why.
    A backend is asked only when one of its actions would send it a file."""
    accepts: dict[str, Accepts] = {}
    out: dict[int, str] = {}
    for i, action in enumerate(actions):
        sent = [slots[s] for s in action.attachments if s < len(slots)] + always
        if not sent:
            continue
        if action.location not in accepts:
            accepts[action.location] = backend_for(action.location).accepts()
        why = next((w for a in sent if (w := accepts[action.location].refuses(a))), "")
        if why:
            out[i] = f"the {action.location} model {why}"
    return out
