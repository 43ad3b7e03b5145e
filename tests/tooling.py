"""Where the tests find uv: the one running them (`uv run` sets `UV`), else PATH, else the
copy `scripts/uv` bootstraps into `.uv/`. Under CI a missing uv fails instead of skipping,
so tests that need it can never pass by not running."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def uv_binary() -> str:
    """The path of a uv executable, or skip (fail under CI) when there is none."""
    candidates = [os.environ.get("UV"), shutil.which("uv"), str(ROOT / ".uv" / "bin" / "uv")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    if os.environ.get("CI"):
        pytest.fail("uv is needed and was not found (scripts/uv installs it)")
    pytest.skip("uv is not installed (scripts/uv installs it)")
