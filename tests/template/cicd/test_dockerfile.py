"""hadolint on the generated Dockerfile: nothing above info, for every answer set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.template.answers import MATRIX
from tests.template.cicd.tools import run_tool, venv_tool

BROKEN_DOCKERFILE = """\
FROM python:latest
RUN apt-get update && apt-get install -y curl
RUN pip install fastapi
ADD . /app
CMD python -m app
"""


def hadolint(dockerfile: Path) -> list[dict[str, object]]:
    """Findings above info (warnings and errors); hadolint exits 1 exactly when there is one."""
    proc = run_tool(
        [venv_tool("hadolint"), "--no-color", "--format", "json", "--failure-threshold", "warning",
         str(dockerfile)]
    )
    findings = [f for f in json.loads(proc.stdout or "[]") if f["level"] in ("warning", "error")]
    assert (proc.returncode != 0) == bool(findings), proc.stdout + proc.stderr
    return findings


@pytest.mark.parametrize("answer_id", sorted(MATRIX))
def test_the_dockerfile_passes_hadolint(rendered: dict[str, Path], answer_id: str) -> None:
    assert hadolint(rendered[answer_id] / "Dockerfile") == []


def test_hadolint_fails_a_broken_dockerfile(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text(BROKEN_DOCKERFILE)
    codes = {finding["code"] for finding in hadolint(broken)}
    # latest tag, unpinned apt and pip, pip's cache kept, ADD for files, shell-form CMD
    assert {"DL3007", "DL3008", "DL3013", "DL3042", "DL3020", "DL3025"} <= codes
