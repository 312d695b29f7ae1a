"""Calibrate the app's policy to your own cloud and local model: `python -m lab.calibrate --help`.

Modules: `sample` (which turns, rebuilt from the file), `spend` (expected and worst-case
dollars), `measure` (the cloud's resumable, dollar-capped run), `local_side` (the local
model's resumable, time-capped run) and `local_run` (its part of the command), `compose`
(the calibrated dataset), `cli` (the command), `heldout` (shipped vs calibrated policy on
held-out dialogues measured on the local model in use).
"""
