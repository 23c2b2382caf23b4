"""The bench's own virtual environments under bench/.venvs/, made with uv.

Each env is installed from ``bench/requirements/<name>.txt`` and stamped with that file's
hash, so a second run reuses it in milliseconds and an edited requirements file rebuilds it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
VENVS = BENCH_DIR / ".venvs"
REQUIREMENTS = BENCH_DIR / "requirements"
PYTHON = "3.11"


@dataclass(frozen=True)
class Env:
    """An installed env, or the reason it could not be installed."""

    name: str
    path: Path
    error: str | None = None

    def bin(self, tool: str) -> str:
        """Path of an executable inside the env (``python``, ``mlserver``...)."""
        return str(self.path / "bin" / tool)


def ensure(name: str, *, python: str = PYTHON) -> Env:
    """Create or reuse ``bench/.venvs/<name>`` from ``bench/requirements/<name>.txt``.

    Never raises for an install failure: the returned ``Env.error`` says what failed, so the
    table can say "not available: ..." for that target and the run goes on.
    """
    req = REQUIREMENTS / f"{name}.txt"
    path = VENVS / name
    digest = hashlib.sha256(req.read_bytes() + python.encode()).hexdigest()
    stamp = path / ".bench-stamp"
    if stamp.exists() and stamp.read_text() == digest:
        return Env(name, path)
    uv = shutil.which("uv")
    if uv is None:
        return Env(name, path, "uv is not on PATH (run `make setup` first)")
    steps = [
        [uv, "venv", "--quiet", "--clear", "--python", python, str(path)],
        [uv, "pip", "install", "--quiet", "--python", str(path / "bin" / "python"), "-r", str(req)],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
        if proc.returncode != 0:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return Env(name, path, f"`{' '.join(cmd[:3])} ...` failed: {' / '.join(last)}")
    stamp.write_text(digest)
    return Env(name, path)
