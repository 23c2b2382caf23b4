"""Fixtures for real servers; conftest files import them by name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.mlflow import MlflowServer
from tests.servers.seaweedfs import SeaweedS3

LAKE_BUCKET = "lake"


@pytest.fixture(scope="session")
def s3_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One SeaweedFS S3 server for the session, with the bucket `LAKE_BUCKET`.

    Tests that stop the store start their own `SeaweedS3` instead.
    """
    with SeaweedS3(tmp_path_factory.mktemp("seaweedfs")) as store:
        store.create_bucket(LAKE_BUCKET)
        yield store


@pytest.fixture(scope="session")
def mlflow_server(
    tmp_path_factory: pytest.TempPathFactory, s3_store: SeaweedS3
) -> Iterator[MlflowServer]:
    """One MLflow server for the session: SQLite backend, artifacts on `s3_store`."""
    with MlflowServer(tmp_path_factory.mktemp("mlflow"), s3_store, LAKE_BUCKET) as server:
        yield server
