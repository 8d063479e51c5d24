"""Fixtures of the webhook tests: the pipeline (in-process emulator and worker) of tests/generations."""

from tests.generations.conftest import pipeline  # noqa: F401  (re-exported fixture)
