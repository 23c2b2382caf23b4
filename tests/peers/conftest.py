"""Fixtures of the peer tests: model servers that were not made from the template, each
built into an image once per session, with no registry access (on the ``base_image``).

Each peer has a directory here holding what a service repo would: a pyproject.toml with
``[tool.modelrail]`` and the golden request and response (tests/peers/suite.py runs the
suite with it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.containers import DOCKERFILES, stage_context
from bench.envs import BENCH_DIR
from tests.helpers import run

# Overridable so that two checkouts testing on one Docker engine do not retag each other's
# images.
PEER_TAG = os.environ.get("MODELRAIL_PEER_TAG", "test")


def peer_image(name: str) -> str:
    """The image reference of a peer's image."""
    return f"modelrail-peer-{name}:{PEER_TAG}"


def docker_build(tag: str, dockerfile: Path, context: Path, base_image: str) -> None:
    """``docker build`` with the base image as the ``BASE_IMAGE`` build argument."""
    build = ["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={base_image}", "-t", tag]
    run([*build, "-f", str(dockerfile), str(context)], context, timeout=1800)


@pytest.fixture(scope="session")
def mlserver_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Seldon MLServer 1.7.1 with its scikit-learn runtime, serving the iris classifier.

    The bench's image (bench/docker/mlserver.Dockerfile, its requirements without the
    LightGBM packages), so what the suite checks is what the bench measures. The model's
    pickle is made by the scikit-learn that loads it: a first build, with an empty model
    file, installs the packages; bench/apps/train.py (fixed seed) trains in a container of
    it; a second build adds the model, every other layer from the first one's cache.
    """
    work = tmp_path_factory.mktemp("mlserver")
    empty = work / "untrained.joblib"
    empty.touch()
    context = stage_context("d", work, empty)
    dockerfile = DOCKERFILES / "mlserver.Dockerfile"
    image = peer_image("mlserver")
    untrained = peer_image("mlserver-untrained")
    models = work / "models"
    models.mkdir()
    try:
        docker_build(untrained, dockerfile, context, base_image)
        train = [
            "docker", "run", "--rm", "--network", "none", "--user", f"{os.getuid()}:{os.getgid()}",
            "-v", f"{BENCH_DIR / 'apps' / 'train.py'}:/train.py:ro", "-v", f"{models}:/models",
            untrained, "/opt/venv/bin/python", "/train.py", "/models",
        ]  # fmt: skip
        run(train, work, timeout=600)
        shutil.copy(models / "iris.joblib", context / "model.joblib")
        docker_build(image, dockerfile, context, base_image)
    finally:
        run(["docker", "image", "rm", "-f", untrained], work, ok_codes=(0, 1))
    return image
