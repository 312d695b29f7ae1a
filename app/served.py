"""What Gradio serves to anyone, and the one check that keeps a database out of it.

Gradio's file route serves its upload and cache folders and every static path; a SQLite
file there (or its -wal/-journal/-shm companions) could be downloaded whole. The study and
the chat both refuse to start with their database there: one function for both.
"""

from __future__ import annotations

from pathlib import Path

from gradio import utils as gr_utils
from gradio.data_classes import _StaticFiles

from app.database import database_url, sqlite_file


def served_roots(extra: list[Path] | None = None) -> list[Path]:
    """Every path Gradio serves files from (its upload and cache folders, static paths)."""
    return [*(extra or []), *_StaticFiles.all_paths, Path(gr_utils.get_upload_folder()),
            Path(gr_utils.get_cache_folder())]


def refuse_served_database(db_path: Path, extra: list[Path] | None = None) -> None:
    """Stop before the database (or its -wal/-journal) could be downloaded: it must not lie
    in or at any path Gradio serves (static paths, its upload and cache folders)."""
    db = Path(db_path).expanduser().resolve()
    companions = {db, *(db.with_name(db.name + sfx) for sfx in ("-wal", "-journal", "-shm"))}
    for root in served_roots(extra):
        root = Path(root).resolve()
        if root in companions or root in db.parents:
            raise ValueError(f"the database {db} would be served to anyone (it is in or at "
                             f"{root}); give it a folder of its own (a study's db_path, the "
                             "chat's LCIO_LOG_PATH or LCIO_DATABASE_URL)")


def refuse_served_log(path_or_url: str | Path) -> None:
    """The same check for a log named by a path or URL (before any folder is made for it);
    a database server is no file."""
    text = str(path_or_url)
    file = sqlite_file(database_url(text)) if "://" in text else Path(text)
    if file is not None:
        refuse_served_database(file)
