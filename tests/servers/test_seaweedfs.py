"""The S3 server the lake tests rely on: it stores, lists, and keeps data across a restart."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from tests.servers.seaweedfs import ACCESS_KEY, REGION, SECRET_KEY, SeaweedS3


def client(store: SeaweedS3) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        endpoint_override=store.endpoint,
        scheme="http",
    )


def test_a_written_table_survives_a_restart_of_the_store(tmp_path: Path) -> None:
    store = SeaweedS3(tmp_path).start()
    try:
        store.create_bucket("lake")
        pq.write_table(pa.table({"a": [1, 2, 3]}), "lake/t/x.parquet", filesystem=client(store))
        store.stop()
        with pytest.raises(OSError, match="connect"):
            pq.read_table("lake/t/x.parquet", filesystem=client(store))
        store.start()
        assert pq.read_table("lake/t/x.parquet", filesystem=client(store))["a"].to_pylist() == [
            1,
            2,
            3,
        ]
    finally:
        store.stop()


def test_wrong_credentials_are_refused(s3_store: SeaweedS3) -> None:
    wrong = pafs.S3FileSystem(
        access_key=ACCESS_KEY,
        secret_key="not-the-secret",
        region=REGION,
        endpoint_override=s3_store.endpoint,
        scheme="http",
    )
    with pytest.raises(OSError, match=r"(?i)denied|signature|forbidden"):
        pq.write_table(pa.table({"a": [1]}), "lake/denied.parquet", filesystem=wrong)
