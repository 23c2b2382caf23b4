"""Fixtures shared by all of modelrail's tests.

Docker policy: tests marked ``docker`` skip on a machine without a Docker engine, but fail
when ``CI`` is set, because a green CI run that skipped the containers is a red run.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, render, run

# testcontainers: the reaper image cannot be pulled everywhere, and on a machine that looks
# like a container testcontainers would otherwise talk to the bridge gateway, not loopback.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TC_HOST", "127.0.0.1")

# Overridable so that two checkouts testing on one Docker engine do not retag each other's image.
GENERATED_IMAGE = os.environ.get("MODELRAIL_GENERATED_IMAGE", "modelrail-generated:test")

# The conformance tests drive the plugin through pytester, the lake tests use real servers
# (tests/servers); pytest only accepts
# `pytest_plugins` in a top-level conftest.
pytest_plugins = ["pytester", "tests.servers.fixtures"]


def in_ci() -> bool:
    """True when running under CI (any non-empty ``CI`` other than 0/false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@functools.cache
def docker_problem() -> str | None:
    """Why Docker cannot be used here, or None when an engine answers."""
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    proc = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return "no Docker engine answers (`docker info` failed); run scripts/ensure-docker.sh"
    return None


def require_command(command: str, package: str) -> str:
    """The path of ``command``; skips the test without it, fails it under CI.

    `make setup` installs ``package`` (scripts/ensure-system-packages.sh).
    """
    path = shutil.which(command)
    if path is not None:
        return path
    problem = f"{command} is not installed (Debian package {package}; `make setup` installs it)"
    if in_ci():
        pytest.fail(f"CI is set and this test needs {problem}.", pytrace=False)
    pytest.skip(f"needs {problem}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is None:
        return
    problem = docker_problem()
    if problem is None:
        return
    if in_ci():
        pytest.fail(f"CI is set and this test needs Docker, but {problem}.", pytrace=False)
    pytest.skip(f"needs Docker: {problem}")


@pytest.fixture(scope="session")
def base_image() -> str:
    """A Python 3.11 base image reference usable as the BASE_IMAGE build argument."""
    proc = run(["bash", str(REPO_ROOT / "scripts" / "build-base-image.sh"), "3.11"], REPO_ROOT)
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def rendered_untrusted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every matrix answer set rendered without tasks (no git, no uv.lock): fast, files only.

    Shared, so tests must not modify these projects (copy one first).
    """
    from tests.template.answers import MATRIX, PROJECT_DIR
    from tests.template.rendering import render_untrusted

    return {
        answer_id: render_untrusted(tmp_path_factory.mktemp(answer_id) / PROJECT_DIR, answers)
        for answer_id, answers in MATRIX.items()
    }


@pytest.fixture(scope="session")
def generated_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template rendered with its default answers, set up and with a trained model."""
    project = render(tmp_path_factory.mktemp("generated") / "churn-model")
    run(["make", "train"], project)
    return project


@pytest.fixture(scope="session")
def generated_image(generated_project: Path, base_image: str) -> str:
    """The generated project's image, built once per test run and shared by every test."""
    build = ["make", "image", f"BASE_IMAGE={base_image}", f"IMAGE={GENERATED_IMAGE}"]
    run(build, generated_project)
    return GENERATED_IMAGE
