"""The everyday probe: which model answers everyday questions best, and how fast, on this machine.

`items` reads the probe's questions (assets/probe/everyday.jsonl plus the project's fixed quality
set, `lab.quality.QUESTIONS`); `answer` runs one model over them and times a 64-token reply;
`python -m lab.probe` is the command (docs/standin.md has the figures it produced).
"""
