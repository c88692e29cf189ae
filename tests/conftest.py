import io
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from twisted.logger import LogLevel, globalLogPublisher

from dcsim.log import start_logging

# Begin Twisted logging at once (into nothing): until something begins it, Twisted keeps
# every event and replays them all into the first observer, which would drop events from
# earlier tests into a later test's output.
start_logging("text", LogLevel.critical, io.StringIO())

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


@pytest.fixture
def log_events() -> Iterator[list[dict]]:
    """Every log event emitted while the test runs, as Twisted's observers get them."""
    seen: list[dict] = []
    globalLogPublisher.addObserver(seen.append)
    yield seen
    globalLogPublisher.removeObserver(seen.append)
