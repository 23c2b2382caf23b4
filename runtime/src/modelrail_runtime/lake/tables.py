"""Reading and writing the lake's date-partitioned Parquet tables, at a directory or URL.

URLs are opened by `location.open_location`, the one place that does it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .location import Location, open_location, redacted

if TYPE_CHECKING:
    import pyarrow as pa


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

    location = open_location(url)
    filesystem, root = location.filesystem, location.root
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
    """Write ``table`` as ``<url>/date=<day>/<name>``, replacing a file of that name; its path."""
    location = open_location(url)
    directory = location.path(f"date={day}")
    location.filesystem.create_dir(directory, recursive=True)
    path = f"{directory}/{name}"
    write_whole(location, table, path)
    return path


def write_whole(location: Location, table: pa.Table, path: str) -> None:
    """Write ``table`` to ``path`` so that a reader sees the old file or the new one, never
    half of one: locally through a hidden name and a rename; an object store makes a whole
    object visible at once anyway."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    filesystem = location.filesystem
    if not location.local:
        pq.write_table(table, path, filesystem=filesystem)
        return
    directory, name = path.rsplit("/", 1)
    partial = f"{directory}/.{name}.{uuid.uuid4().hex[:8]}.partial"
    pq.write_table(table, partial, filesystem=filesystem)
    filesystem.move(partial, path)


def _day_of(path: str) -> str:
    return path.rsplit("/date=", 1)[1].split("/", 1)[0]
