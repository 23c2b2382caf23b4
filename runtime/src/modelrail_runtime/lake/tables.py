"""Reading and writing the lake's date-partitioned Parquet tables, at a directory or URL.

`filesystem_for` is the one place a lake URL is opened; the other modules of this package
go through it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..prediction_log.sink import _local_path, _remote_filesystem, redacted

if TYPE_CHECKING:
    import pyarrow as pa


def filesystem_for(url: str) -> tuple[Any, str]:
    """pyarrow's filesystem for ``url`` (a directory, ``file://`` or ``s3://...``) and the
    root path in it.

    Raises:
        SinkError: no filesystem opens this URL.
    """
    import pyarrow.fs as pafs  # noqa: PLC0415 - the service reads tables in jobs only

    local = _local_path(url)
    if local is not None:
        return pafs.LocalFileSystem(), str(local.absolute())
    return _remote_filesystem(url)


def shown(url: str) -> str:
    """``url`` for messages: credentials masked."""
    return redacted(url)


def read_partitioned(
    url: str, columns: Sequence[str], days: Sequence[str] | None = None
) -> pa.Table:
    """The ``columns`` of every Parquet file under ``url``'s ``date=*/`` directories, with
    ``date`` (text) from the path; only the ``days`` given, if any. No files: no rows.

    Raises:
        KeyError: a file lacks one of ``columns``.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.dataset as ds  # noqa: PLC0415
    import pyarrow.fs as pafs  # noqa: PLC0415

    filesystem, root = filesystem_for(url)
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    files = [
        info.path
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File
        and info.path.endswith(".parquet")
        and "/date=" in info.path
        and not info.base_name.startswith(".")
        and (days is None or _day_of(info.path) in days)
    ]
    if not files:
        return pa.table({name: pa.array([], pa.string()) for name in (*columns, "date")})
    partitioning = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive")
    dataset = ds.dataset(
        files,
        filesystem=filesystem,
        format="parquet",
        partitioning=partitioning,
        partition_base_dir=root,
    )
    missing = [name for name in columns if name not in dataset.schema.names]
    if missing:
        raise KeyError(f"{shown(url)}: no column {', '.join(missing)} in its Parquet files")
    return dataset.to_table(columns=[*columns, "date"])


def write_day(url: str, day: str, name: str, table: pa.Table) -> str:
    """Write ``table`` as ``<url>/date=<day>/<name>``, replacing a file of that name; its path.

    A local file is written under a hidden name, then renamed, so that a reader sees the
    old file or the new one, never half of one; an object store swaps whole objects anyway.
    """
    import pyarrow.parquet as pq  # noqa: PLC0415

    filesystem, root = filesystem_for(url)
    directory = f"{root}/date={day}"
    filesystem.create_dir(directory, recursive=True)
    path = f"{directory}/{name}"
    local = _local_path(url)
    if local is None:
        pq.write_table(table, path, filesystem=filesystem)
        return path
    partial = f"{directory}/.{name}.{uuid.uuid4().hex[:8]}.partial"
    pq.write_table(table, partial, filesystem=filesystem)
    os.replace(partial, path)
    return path


def _day_of(path: str) -> str:
    return path.rsplit("/date=", 1)[1].split("/", 1)[0]
