"""What the test servers share: stopping their process."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen[bytes] | None, grace_seconds: float) -> None:
    """Terminate ``process`` (if it still runs), wait ``grace_seconds``, then kill it."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
