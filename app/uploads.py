"""What an anonymous client may leave on the server's disk, and for how long.

Gradio stores every upload (`POST /gradio_api/upload`, no session needed) in its upload
folder and, left alone, keeps it until the process ends; an upload the client aborts half
way stays there as an orphan that nothing tracks. Here, at launch (`launch_options`, for the
chat and the study alike):

- one file may be at most the app's own attachment limit (`LCIO_MAX_ATTACHMENT_MB`, the limit
  the chat checks: nothing the app would refuse is stored), one upload request at most
  `MAX_FILES` such files; a request without a length, or while the disk has less than
  `LCIO_UPLOAD_MIN_FREE_MB` free, is refused before anything is written;
- every `LCIO_TEMP_FILES_SWEEP_S` seconds, every file in Gradio's folder older than
  `LCIO_TEMP_FILES_KEEP_S` (uploads, orphans, copies of files shown in a chat, downloads) is
  deleted with the folders left empty, except the files Gradio's components keep. Gradio's
  own `delete_cache` is not used: under concurrent uploads its loop ends on "Set changed size
  during iteration" (gradio 6.31) and deletes nothing more; nor does it see orphans.

A file a live session still shows is deleted too once it is that old: the chat keeps only
text in its history (no model re-reads an earlier turn's file), so what breaks is the picture
in that old chat bubble, and a download link older than the keep time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from gradio import utils as gr_utils
from starlette.middleware import Middleware

from app.intake import MAX_FILES
from backends.config import Settings

log = logging.getLogger(__name__)
MULTIPART_SLACK = 1 << 20  # the multipart framing around a request's files (headers, names)
DRAIN_FACTOR = 4  # a refused upload's body is read (and dropped) up to 4 largest requests' worth
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class UploadGuard:
    """ASGI middleware on Gradio's upload route: refuses, before reading the body, a request
    without a length, one longer than `MAX_FILES` files of `file_cap` bytes, and any while the
    upload folder's disk has less than `min_free` bytes free. (Gradio caps each file itself.)"""

    def __init__(self, app: Callable[..., Awaitable[None]], file_cap: int, min_free: int,
                 folder: str) -> None:
        self.app, self.file_cap, self.min_free, self.folder = app, file_cap, min_free, folder
        self.max_request = MAX_FILES * file_cap + MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.refusal(scope) if _is_upload(scope) else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, text = refusal
        log.warning("upload refused (%d): %s", status, text)
        await self.drain(receive)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "http.response.body", "body": text.encode()})

    async def drain(self, receive: Receive) -> None:
        """Read and drop the body (up to DRAIN_FACTOR requests' worth), so that the client,
        still sending, gets the refusal rather than a broken connection. Nothing is stored."""
        left = DRAIN_FACTOR * self.max_request
        while left > 0:
            message = await receive()
            left -= len(message.get("body", b""))
            if message.get("type") != "http.request" or not message.get("more_body"):
                return

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(HTTP status, the message the page shows) for a refused upload; None lets it in."""
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is None or not length.isdigit():
            return 411, "An upload must say its length."
        if int(length) > self.max_request:
            return 413, (f"An upload may hold at most {MAX_FILES} files of "
                         f"{self.file_cap / 2**20:g} MB each.")
        if free_bytes(self.folder) - int(length) < self.min_free:
            return 507, "The server is short of disk space; please try again later."
        return None


def _is_upload(scope: Scope) -> bool:
    return (scope.get("type") == "http" and scope.get("method") == "POST"
            and str(scope.get("path", "")).rstrip("/").endswith("/upload"))


def free_bytes(folder: str) -> int:
    """Free bytes on the disk that holds `folder` (its nearest existing parent)."""
    path = Path(folder)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def sweep(folder: Path, older_than_s: float, keep: set[str] | None = None,
          now: float | None = None) -> tuple[set[str], int]:
    """Delete the files under `folder` not changed for `older_than_s` seconds (but those in
    `keep`), then the folders left empty (by this sweep, or as old); (paths deleted, bytes)."""
    now = time.time() if now is None else now
    keep = {str(Path(k)) for k in keep or ()}
    removed: set[str] = set()
    emptied: set[str] = set()  # folders this sweep deleted files from
    freed = 0
    for root, dirs, names in os.walk(folder, topdown=False):  # a folder's contents first
        for name in names:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
                if path in keep or now - max(info.st_mtime, info.st_ctime) <= older_than_s:
                    continue
                os.remove(path)
            except OSError:  # gone already, or not ours to remove
                continue
            removed.add(path)
            emptied.add(root)
            freed += info.st_size
        for name in dirs:
            _remove_if_empty(os.path.join(root, name), now, older_than_s, emptied)
    return removed, freed


def _remove_if_empty(path: str, now: float, older_than_s: float, emptied: set[str]) -> None:
    """An empty folder that this sweep emptied, or as old as the files (a new one may be
    about to receive an upload)."""
    try:
        if path in emptied or now - os.lstat(path).st_mtime > older_than_s:
            os.rmdir(path)  # fails, as it should, if something is in it
    except OSError:
        pass


def kept_files(demo: Any) -> set[str]:
    """Files Gradio's components must keep (their default values), as its own sweep does."""
    out: set[str] = set()
    for block in getattr(demo, "blocks", {}).values():
        out.update(getattr(block, "keep_in_cache", ()) or ())
    return out


def forget(demo: Any, removed: set[str]) -> None:
    """Drop deleted files from the sets in which Gradio records the files it made (they
    would otherwise grow by one path per upload for as long as the server runs)."""
    for files in getattr(demo, "temp_file_sets", []):
        files.difference_update(removed)  # one C call: safe beside an upload adding to it


def sweep_page(demo: Any, folder: Path, older_than_s: float) -> tuple[int, int]:
    """One sweep for a served page: (files deleted, bytes freed)."""
    removed, freed = sweep(folder, older_than_s, kept_files(demo))
    forget(demo, removed)
    return len(removed), freed


def sweeper(demo: Any, folder: Path, every_s: float, older_than_s: float
            ) -> Callable[[Any], Any]:
    """A lifespan for Gradio's app: sweeps `folder` every `every_s` seconds while it serves."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(every_s)
                try:
                    files, freed = await anyio.to_thread.run_sync(
                        sweep_page, demo, folder, older_than_s)
                except Exception:  # one failed sweep must not end the schedule
                    log.exception("sweeping %s failed", folder)
                    continue
                if files:
                    log.info("swept %d old files (%.1f MB) from %s", files, freed / 2**20, folder)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


def launch_options(demo: Any, settings: Settings) -> dict[str, Any]:
    """What `demo.launch` needs for the limits above (the chat's and the study's Blocks)."""
    folder = Path(gr_utils.get_upload_folder())
    cap = settings.max_attachment_bytes
    guard = Middleware(UploadGuard, file_cap=cap, min_free=int(settings.upload_min_free_mb * 2**20),
                       folder=str(folder))
    app_kwargs: dict[str, Any] = {"middleware": [guard]}
    if settings.temp_files_sweep_s > 0:
        app_kwargs["lifespan"] = sweeper(demo, folder, settings.temp_files_sweep_s,
                                         settings.temp_files_keep_s)
    return {"max_file_size": cap, "app_kwargs": app_kwargs}
