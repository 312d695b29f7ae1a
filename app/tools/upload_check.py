"""Disk use after many anonymous uploads: `python -m app.tools.upload_check`.

Serves the chat page (no models: uploads need none) with the app's launch options
(`app.uploads`), in a fresh Gradio upload folder, and POSTs `--uploads` files of `--kb` KB
each to `/gradio_api/upload` as a script would, plus one aborted half way. It prints the
folder's disk use right after, then again once the keep time and two sweeps have passed;
and what happens to a file one byte over the cap and to a 120 MB file. `--before` launches
as the app did before issue 21 (max_file_size="200mb", nothing deleted), for comparison.

    python -m app.tools.upload_check --uploads 1000 --kb 100 --keep-s 5 --sweep-s 2
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import tempfile
import time
import urllib.parse
from pathlib import Path

BOUNDARY = "lcio-upload-check"


def multipart(name: str, size: int) -> bytes:
    """One file part of `size` random bytes (unique, so each upload gets its own folder)."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    return head + os.urandom(size) + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(url: str, name: str, size: int) -> tuple[int, str, float]:
    """POST one file: (HTTP status, the body's start, seconds); status 0 if the server hung up
    while the body was still being sent."""
    parts = urllib.parse.urlsplit(url)
    body = multipart(name, size)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        conn.request("POST", "/gradio_api/upload", body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        response = conn.getresponse()
        return response.status, response.read(200).decode("utf-8", "replace"), \
            time.perf_counter() - started
    except OSError as exc:
        return 0, type(exc).__name__, time.perf_counter() - started
    finally:
        conn.close()


def aborted_upload(url: str, size: int) -> None:
    """Half of a declared body, then the connection closed: Gradio leaves its temp file."""
    parts = urllib.parse.urlsplit(url)
    body = multipart("aborted.bin", size)
    with socket.create_connection((parts.hostname, parts.port)) as s:
        s.sendall((f"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/"
                   f"form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n"
                   ).encode() + body[: len(body) // 2])
        time.sleep(1.0)


def disk_use(folder: Path) -> str:
    """Files, folders and bytes on disk (allocated blocks, folders included) under `folder`."""
    files = dirs = allocated = 0
    for root, names_dirs, names in os.walk(folder):
        dirs += len(names_dirs)
        for name in [*names, *names_dirs]:
            info = os.lstat(os.path.join(root, name))
            allocated += info.st_blocks * 512
        files += len(names)
    return f"{files} files, {dirs} folders, {allocated / 2**20:.1f} MB on disk"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--uploads", type=int, default=1000)
    ap.add_argument("--kb", type=int, default=100, help="size of each upload")
    ap.add_argument("--keep-s", type=int, default=5, help="LCIO_TEMP_FILES_KEEP_S for the run")
    ap.add_argument("--sweep-s", type=int, default=2, help="LCIO_TEMP_FILES_SWEEP_S for the run")
    ap.add_argument("--before", action="store_true", help="launch as before issue 21")
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="lcio-upload-check-"))
    os.environ["GRADIO_TEMP_DIR"] = str(folder)  # before Gradio reads it
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    from app.ui import ChatUI
    from app.uploads import launch_options
    from backends.config import Settings

    settings = Settings(temp_files_keep_s=args.keep_s, temp_files_sweep_s=args.sweep_s)
    demo = ChatUI(None, {}, ["none"]).build()  # type: ignore[arg-type]  (no turn is run)
    options = {"max_file_size": "200mb"} if args.before else launch_options(demo, settings)
    demo.queue().launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **options)
    url = demo.local_url
    try:
        print(f"{'before' if args.before else 'after'} issue 21: cap "
              f"{options['max_file_size']}, keep {args.keep_s} s, sweep {args.sweep_s} s; "
              f"folder {folder}")
        started = time.perf_counter()
        codes = [upload(url, f"u{i}.bin", args.kb * 1024)[0] for i in range(args.uploads)]
        print(f"{args.uploads} uploads of {args.kb} KB: {codes.count(200)} accepted in "
              f"{time.perf_counter() - started:.1f} s")
        aborted_upload(url, 4 * 2**20)
        print(f"right after (and one aborted 4 MB upload): {disk_use(folder)}")
        cap = settings.max_attachment_bytes
        for label, size in (("one byte over the cap", cap + 1), ("120 MB", 120 * 2**20)):
            status, text, seconds = upload(url, "big.bin", size)
            print(f"{label}: HTTP {status} in {seconds:.1f} s: {text.strip()[:100]}")
        for _ in range(2):  # a folder emptied by a sweep goes one keep time later
            wait = args.keep_s + args.sweep_s + 1
            time.sleep(wait)
            print(f"{wait} s later: {disk_use(folder)}")
    finally:
        demo.close()
        shutil.rmtree(folder, ignore_errors=True)  # the run's own folder, whatever is left


if __name__ == "__main__":
    main()
