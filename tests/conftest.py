import io
import os

from hypothesis import HealthCheck, settings
from twisted.logger import LogLevel

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
