"""Real programs nobody here wrote, used as test peers.

On a user's machine a missing peer skips its test with the command that installs it; under
``CI=true`` a missing peer fails the test, because CI must have installed it (``.ci/run``).
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_program(name: str, package: str) -> str:
    """The path of program *name* (Debian package *package*), or skip/fail without it."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path:
        return path
    message = f"{name} is not installed: sudo apt-get install {package}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI must install every peer: see .ci/run)")
    pytest.skip(message)
