"""The lab: everything that builds, trains, evaluates, calibrates or measures LCIO.

It may import anything; nothing in `app`, `policies` or `backends` imports it (the
import-layer contracts in `pyproject.toml`, checked by `.ci/run`)."""
