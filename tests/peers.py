"""Real programs nobody here wrote, used as test peers.

On a user's machine a missing peer skips its test with the command that installs it; under
``CI=true`` a missing peer fails the test, because CI must have installed it (``.ci/run``).
"""

from __future__ import annotations

import os
import shutil
import socket

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


def free_port(host: str = "127.0.0.1") -> int:
    """A port number free for both TCP and UDP on *host* right now (for peers that take a
    port number rather than binding port 0 themselves)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both TCP and UDP")
