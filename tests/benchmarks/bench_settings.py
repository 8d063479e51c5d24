"""Settings for `make bench`: the studio's own settings plus one reference view (tests/benchmarks/bench_urls.py)."""

from studio.settings import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.bench_urls"
