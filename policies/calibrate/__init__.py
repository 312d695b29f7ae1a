"""Calibrate the app's policy to your own cloud: `python -m policies.calibrate --help`.

Modules: `sample` (which turns, rebuilt from the file), `spend` (expected and worst-case
dollars), `measure` (the resumable, capped run), `compose` (the calibrated dataset),
`identity` (which cloud a dataset or policy is for), `cli` (the command).
"""
