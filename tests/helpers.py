"""Helpers shared by modelrail's own tests: rendering the template, running commands."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE_DIR = REPO_ROOT / "conformance"


@functools.cache
def runtime_index() -> str:
    """A package index serving this checkout's modelrail-runtime (built once per process).

    No index holds the runtime during development: generated projects install it from
    this local one (the template's ``runtime_index`` answer), locked by hash like any
    other package.
    """
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "runtime_index.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip().splitlines()[-1]


@functools.cache
def torch_index() -> str:
    """The directory of a package index serving torch's CPU wheel (built once per process).

    PyTorch's own CPU index cannot be reached here, and PyPI's torch is the CUDA build:
    generated PyTorch projects install torch from this local index instead (the template's
    ``torch_index`` answer), built by scripts/torch_index.py from the wheel this machine
    holds.
    """
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "torch_index.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/torch_index.py failed: {proc.stderr.strip()}")
    url = proc.stdout.strip().splitlines()[-1]
    return url.removeprefix("file://")


def uses_torch(answers: dict[str, Any]) -> bool:
    """True when ``answers`` generate a PyTorch project (the embedding task's default)."""
    default = "pytorch" if answers.get("model_task") == "embedding" else "scikit-learn"
    return answers.get("model_framework", default) == "pytorch"


def answers_with_index(answers: dict[str, Any] | None = None) -> dict[str, Any]:
    """``answers`` with ``runtime_index`` pointing at `runtime_index` unless they set it,
    and, for a PyTorch project only, ``torch_index`` pointing at `torch_index`."""
    given = answers or {}
    indexes = {"runtime_index": runtime_index()}
    if uses_torch(given):
        indexes["torch_index"] = torch_index()
    return {**indexes, **given}


def render(dst: Path, answers: dict[str, Any] | None = None, *, trust: bool = True) -> Path:
    """Render the template from this checkout's working tree into ``dst``.

    ``vcs_ref="HEAD"`` makes Copier use the working tree (uncommitted changes included)
    rather than the newest tag, so tests always exercise the code under test. The runtime
    comes from this checkout's local index (`runtime_index`).
    """
    from copier import run_copy

    run_copy(
        str(REPO_ROOT),
        str(dst),
        data=answers_with_index(answers),
        defaults=True,
        unsafe=trust,
        vcs_ref="HEAD",
        quiet=True,
    )
    return dst


def run(
    cmd: list[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    ok_codes: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in ``cwd``; on an exit code not in ``ok_codes`` raise with its full
    output, not just the code."""
    full_env = {**os.environ, **(env or {})}
    # A generated project gets its own uv environment, never this repo's.
    full_env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode not in ok_codes:
        raise AssertionError(
            f"{' '.join(cmd)} failed in {cwd} with exit code {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-8000:]}\n--- stderr ---\n{proc.stderr[-8000:]}"
        )
    return proc


def free_port() -> int:
    """A TCP port nothing listens on, on 127.0.0.1 (free when asked; bind it soon)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
