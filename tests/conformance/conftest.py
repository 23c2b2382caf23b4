"""Fixtures for the conformance suite's own tests: the fixture service, in-process and as
an image, and a helper that runs the suite through pytester and reads its JSON report."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401 - see below
import httpx
import pytest
from modelrail_conformance import cli

HERE = Path(__file__).parent
PROJECT = HERE / "fixture_project"
REPO_ROOT = HERE.parents[1]
FIXTURE_IMAGE = "modelrail-conformance-fixture:test"

sys.path.insert(0, str(HERE))
from fixture_service.app import FixtureApp, json_logger  # noqa: E402

# pytester's in-process runs drop the modules a run imported when it ends. httpx maps
# httpcore's exceptions through classes it caches on first use, so httpcore must stay the
# same module object across runs: importing it here keeps it out of those snapshots.


@dataclass
class SuiteRun:
    """The outcome of one suite run: pytest's result and the parsed JSON report."""

    result: pytest.RunResult
    report: dict[str, Any]

    def status(self, rule_id: str) -> str:
        """The status the report gives a rule."""
        return next(r["status"] for r in self.report["rules"] if r["rule_id"] == rule_id)

    def with_status(self, status: str) -> set[str]:
        """Rule IDs with that status."""
        return {r["rule_id"] for r in self.report["rules"] if r["status"] == status}

    def message(self, rule_id: str) -> str:
        """The message the report gives a rule."""
        return next(r["message"] for r in self.report["rules"] if r["rule_id"] == rule_id)


def make_project(tmp_path: Path, overrides: dict[str, object]) -> Path:
    """A copy of the fixture project with ``[tool.modelrail]`` values overridden (a value of
    None removes the key)."""
    if not overrides:
        return PROJECT
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    text = (project / "pyproject.toml").read_text()
    for key, value in overrides.items():
        name = key.split(".")[-1]
        lines = text.splitlines()
        if value is None:
            lines = [line for line in lines if line.split("=")[0].strip() != name]
            text = "\n".join(lines) + "\n"
            continue
        replaced = False
        for i, line in enumerate(lines):
            if line.split("=")[0].strip() == name:
                lines[i] = f"{name} = {value!r}".replace("'", '"')
                replaced = True
        if not replaced:
            anchor = lines.index("[tool.modelrail.latency]" if "." in key else "[tool.modelrail]")
            lines.insert(anchor + 1, f"{name} = {value!r}".replace("'", '"'))
        text = "\n".join(lines) + "\n"
    (project / "pyproject.toml").write_text(text)
    return project


@pytest.fixture
def run_suite(pytester: pytest.Pytester, tmp_path: Path) -> Callable[..., SuiteRun]:
    """Run the packaged contract through pytester (in-process) and parse report.json."""

    def run(*args: str, project: Path = PROJECT) -> SuiteRun:
        reports = tmp_path / f"reports-{time.monotonic_ns()}"
        argv = [
            *args,
            "--modelrail-project",
            str(project),
            "--modelrail-report-dir",
            str(reports),
            "-p",
            "no:randomly",
        ]
        result = pytester.runpytest(*cli.pytest_args(argv))
        path = reports / "report.json"
        assert path.is_file(), f"no report written; output:\n{result.stdout.str()[-4000:]}"
        return SuiteRun(result, json.loads(path.read_text()))

    return run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start the fixture app with a flaw (and a model) in a uvicorn thread on 127.0.0.1; its
    base URL."""
    import uvicorn

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(flaw: str | None = None, model: str = "tabular") -> str:
        port = _free_port()
        logger = json_logger(f"fixture-{port}", io.StringIO())
        app = FixtureApp(flaw, model=model, logger=logger)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        servers.append((server, thread))
        return base

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def _base_image() -> str:
    if os.environ.get("MODELRAIL_FIXTURE_BASE_IMAGE"):
        return os.environ["MODELRAIL_FIXTURE_BASE_IMAGE"]
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build-base-image.sh"), "3.11"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def fixture_image() -> str:
    """The fixture service image, built once per session (tagged :test and :latest)."""
    cmd = [
        "docker", "build", "-q", "-t", FIXTURE_IMAGE, "-t", "modelrail-conformance-fixture:latest",
        "--build-arg", f"BASE_IMAGE={_base_image()}", "-f", str(HERE / "Dockerfile.fixture"), str(HERE),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"fixture image build failed:\n{proc.stdout}\n{proc.stderr}"
    return FIXTURE_IMAGE


def derived_dockerfile(tmp_path: Path, base: str, lines: str) -> Path:
    """A one-layer Dockerfile FROM ``base`` with extra lines, in its own directory."""
    directory = tmp_path / "derived"
    directory.mkdir(exist_ok=True)
    path = directory / "Dockerfile"
    path.write_text(f"FROM {base}\n{lines}\n")
    return path
