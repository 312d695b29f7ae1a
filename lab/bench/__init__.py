"""LCIO-Bench: the app's own turns answered under every action by the real backends.

- `scenarios`: seeded multi-modal, multi-task, multi-turn dialogues with checkable references.
- `media`: the attachments (Pillow charts/diagrams/text pictures, scikit-image photos,
  espeak-ng speech), rendered deterministically from their specs.
- `scoring`: the documented rules that turn an answer into a score in [0, 1].
- `build`: `python -m lab.bench.build --out assets/bench/lcio-bench-v1.jsonl`, resumable.
- `dataset`: the built file as per-turn arrays of measured outcomes for every action.
"""
