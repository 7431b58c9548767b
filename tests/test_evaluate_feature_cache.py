"""Tests of gan_cli/evaluate/feature_cache.py: where a trained feature network is kept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import child_env

from gan_cli.evaluate.feature_cache import CACHE_ENV, user_cache_root


def test_the_user_cache_follows_gan_cli_cache_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert user_cache_root() == tmp_path / "mine"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_root() == tmp_path / "xdg" / "gan-cli"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec: a relative value is ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_cache_root() == tmp_path / "home" / ".cache" / "gan-cli"


NO_HOME = (
    "import os, pwd\n"
    "os.environ.pop('HOME', None)\n"
    "def none(uid):\n"
    "    raise KeyError(uid)\n"
    "pwd.getpwuid = none  # a container's user with no passwd entry\n"
    "from gan_cli.evaluate.feature_cache import user_cache_root\n"
)


def _without_home(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in {**child_env(), **env}.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    return subprocess.run([sys.executable, "-c", NO_HOME + code], env=full, capture_output=True, text=True, timeout=120)


def test_a_process_without_a_home_directory_caches_in_the_temporary_folder(tmp_path: Path) -> None:
    """Python leaves ~ unexpanded there, and the cache became a folder named `~` in the working directory."""
    done = _without_home("print(user_cache_root())")
    assert done.returncode == 0, done.stderr
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    assert Path(done.stdout.strip()) == Path(tempfile.gettempdir()) / f"gan-cli-cache-{uid}"
