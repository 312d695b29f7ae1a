"""A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries (.ci/run installs
them), a fresh cluster in a temp folder, bound to 127.0.0.1 on a free port, trust auth,
stopped (and its folder removed) when the fixture ends."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def available() -> bool:
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


@contextmanager
def postgres_server(db: str = "lcio") -> Iterator[str]:
    """Yield `postgresql://postgres@127.0.0.1:<port>/<db>` of a fresh server."""
    initdb, pg_ctl, createdb = _bin("initdb"), _bin("pg_ctl"), _bin("createdb")
    assert initdb and pg_ctl and createdb, "PostgreSQL is not installed (apt-get install postgresql)"
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="lcio-pg-"))
    if os.geteuid() == 0:  # the server refuses to run as root: use the package's user
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--no-sync"], **run)
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", opts, "-l", str(folder / "log"),
                    "-w", "-t", "60", "start"], **run)
    try:
        subprocess.run([*as_user, createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        db], **run)
        yield f"postgresql://postgres@127.0.0.1:{port}/{db}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)
