"""Headless Chromium for the tests that check what a browser really renders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import in_ci


def chromium() -> str:
    """The Chromium binary; skips on a laptop without one, fails under CI."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    reason = "headless Chromium is not installed (Debian: apt-get install chromium)"
    if in_ci():
        pytest.fail(f"CI is set and this test needs Chromium, but {reason}.", pytrace=False)
    pytest.skip(reason)


def headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Chromium headless, offline and without a sandbox (root in a container)."""
    return subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
