"""The LCIO-Bench family: its observation, outcome model, environment, baselines, routers,
the paper's recipes and LCIO's planner. How the benchmark is built lives in `lab.bench`."""
