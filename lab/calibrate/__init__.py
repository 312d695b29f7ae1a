"""Calibrate the app's policy to your own cloud: `python -m lab.calibrate --help`.

Modules: `sample` (which turns, rebuilt from the file), `spend` (expected and worst-case
dollars), `measure` (the resumable, capped run), `compose` (the calibrated dataset),
`cli` (the command).
"""
