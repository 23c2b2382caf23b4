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
from tests.peers.suite import PEERS_DIR

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


def build_with_iris(image: str, dockerfile: Path, context: Path, base_image: str) -> None:
    """Build ``image``, whose Dockerfile copies ``model.joblib`` from ``context``, with the
    bench's iris classifier as that file.

    The pickle is made by the scikit-learn that loads it: a first build, with an empty
    model file, installs the packages; bench/apps/train.py (fixed seed) trains in a
    container of it; a second build adds the model, every other layer from the first
    one's cache.
    """
    untrained = f"{image}-untrained"
    models = context.parent / f"{context.name}-models"
    models.mkdir()
    (context / "model.joblib").write_bytes(b"")
    try:
        docker_build(untrained, dockerfile, context, base_image)
        train = [
            "docker", "run", "--rm", "--network", "none", "--user", f"{os.getuid()}:{os.getgid()}",
            "-v", f"{BENCH_DIR / 'apps' / 'train.py'}:/train.py:ro", "-v", f"{models}:/models",
            untrained, "/opt/venv/bin/python", "/train.py", "/models",
        ]  # fmt: skip
        run(train, context, timeout=600)
        shutil.copy(models / "iris.joblib", context / "model.joblib")
        docker_build(image, dockerfile, context, base_image)
    finally:
        run(["docker", "image", "rm", "-f", untrained], context, ok_codes=(0, 1))


@pytest.fixture(scope="session")
def mlserver_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Seldon MLServer 1.7.1 with its scikit-learn runtime, serving the iris classifier.

    The bench's image (bench/docker/mlserver.Dockerfile, its requirements without the
    LightGBM packages), so what the suite checks is what the bench measures.
    """
    work = tmp_path_factory.mktemp("mlserver")
    context = stage_context("d", work, Path(os.devnull))  # build_with_iris adds the model
    image = peer_image("mlserver")
    build_with_iris(image, DOCKERFILES / "mlserver.Dockerfile", context, base_image)
    return image


@pytest.fixture(scope="session")
def kserve_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """KServe 0.21.0's Python model server with a custom ``kserve.Model`` for iris
    (tests/peers/kserve: its Dockerfile, pinned requirements and model code)."""
    context = tmp_path_factory.mktemp("kserve") / "context"
    context.mkdir()
    for name in ("requirements.txt", "iris_model.py"):
        shutil.copy(PEERS_DIR / "kserve" / name, context / name)
    image = peer_image("kserve")
    build_with_iris(image, PEERS_DIR / "kserve" / "Dockerfile", context, base_image)
    return image
