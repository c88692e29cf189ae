"""The twistd plugin ships in the wheel (``twisted/plugins/dcsim_plugin.py``, with no
``__init__.py`` that would shadow Twisted's own), and twistd finds it in a regular
(non-editable) install as well as in the editable one the tests run from."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.up.twistd import ROOT, TWISTD

pytestmark = pytest.mark.slow


def pip(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_a_regular_install_carries_the_plugin(tmp_path: Path) -> None:
    source = tmp_path / "source"  # setuptools builds in the tree: not in the checkout
    ignore = shutil.ignore_patterns("__pycache__", "dropin.cache", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip("wheel", "--no-deps", "-w", str(tmp_path / "dist"), str(source))
    (wheel,) = (tmp_path / "dist").glob("dcsim-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "twisted/plugins/dcsim_plugin.py" in names
    assert not [n for n in names if n.startswith("twisted/") and n.endswith("__init__.py")]
    assert "dcsim/status/static/status.js" in names

    site = tmp_path / "site"
    pip("install", "--no-deps", "--target", str(site), str(wheel))
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import twisted.plugins.dcsim_plugin as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert where.stdout.strip() == str(site / "twisted" / "plugins" / "dcsim_plugin.py")
    listed = subprocess.run(
        [TWISTD, "--help"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert "dcsim            A Dreamcast network in a box" in listed.stdout, listed.stderr


def test_the_editable_install_finds_the_plugin_in_src(tmp_path: Path) -> None:
    where = subprocess.run(
        [sys.executable, "-c", "import twisted.plugins.dcsim_plugin as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert where.stdout.strip() == str(ROOT / "src" / "twisted" / "plugins" / "dcsim_plugin.py")
