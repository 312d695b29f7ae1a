"""User-study mode: blind, rated chats under assigned conditions, and a researcher view.

`python app.py` with `LCIO_STUDY_CONFIG` (or `LCIO_STUDY_CONDITIONS`) set serves the
participant page at `/` and the token-gated researcher view at `/researcher`.
"""

from app.study.config import StudyConfig, load_study_config, study_configured

__all__ = ["StudyConfig", "load_study_config", "study_configured"]
