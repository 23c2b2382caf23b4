"""The runtime's export tests (runtime/tests/export), run in a training environment with torch.

torch never enters this repository's own environment (uv would resolve PyPI's CUDA build,
gigabytes). This test builds a separate one under build/torch-env: torch's CPU wheel from
the local index of scripts/torch_index.py, the export tests' requirements from PyPI, and
this checkout's runtime installed editable; then it runs the export tests there. The
environment is kept between runs and rebuilt when what it was built from changes.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, run

pytestmark = pytest.mark.slow

TORCH_ENV = REPO_ROOT / "build" / "torch-env"
EXPORT_TESTS = REPO_ROOT / "runtime" / "tests" / "export"
REQUIREMENTS = EXPORT_TESTS / "requirements.txt"
RUNTIME_EXTRAS = "sklearn,testing,onnx-text,export"
STAMP = ".modelrail-torch-env"


def uv() -> str:
    return shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")


def torch_index() -> str:
    """The URL of the local index holding torch's CPU wheel (built if needed)."""
    proc = run([sys.executable, str(REPO_ROOT / "scripts" / "torch_index.py")], REPO_ROOT)
    return proc.stdout.strip().splitlines()[-1]


def torch_env() -> Path:
    """The training environment's Python: built, or reused when nothing it depends on moved."""
    index = torch_index()
    page = Path(index.removeprefix("file://")) / "torch" / "index.html"
    sources = [REQUIREMENTS, REPO_ROOT / "runtime" / "pyproject.toml", page]
    key = hashlib.sha256(
        b"\0".join(
            [sys.version.encode(), RUNTIME_EXTRAS.encode(), *(p.read_bytes() for p in sources)]
        )
    ).hexdigest()
    python = TORCH_ENV / "bin" / "python"
    stamp = TORCH_ENV / STAMP
    if python.exists() and stamp.exists() and stamp.read_text() == key:
        return python
    shutil.rmtree(TORCH_ENV, ignore_errors=True)
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(TORCH_ENV)], REPO_ROOT)
    run(
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            # torch from the local index only: with the first-index strategy uv never looks
            # for it on PyPI once the local index has the project.
            "--index",
            index,
            "--index-strategy",
            "first-index",
            "-r",
            str(REQUIREMENTS),
            "-e",
            f"./runtime[{RUNTIME_EXTRAS}]",
        ],
        REPO_ROOT,
    )
    stamp.write_text(key)
    return python


def test_the_export_tests_pass_with_torchs_cpu_build() -> None:
    python = torch_env()
    version = run([str(python), "-c", "import torch; print(torch.__version__)"], REPO_ROOT)
    assert version.stdout.strip() == "2.13.0+cpu"
    proc = run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "tests/export"],
        REPO_ROOT / "runtime",
        ok_codes=(0, 1),
    )
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-8000:]
    assert " passed" in summary, proc.stdout[-8000:]
    assert "skipped" not in summary, proc.stdout[-8000:]
