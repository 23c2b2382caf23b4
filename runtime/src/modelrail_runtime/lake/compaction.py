"""Compaction: a day's many small files of a lake table merged into one.

The writer leaves one ``part-*.parquet`` file per flush in ``date=YYYY-MM-DD/``: thousands a
day, which every lake query then opens. Compaction merges a day's parts (and the day's
compacted file, if an earlier run left one) into ``date=YYYY-MM-DD/compacted.parquet``:

- rows de-duplicated and sorted, so the same rows always give the same bytes: predictions
  by ``prediction_id`` (a retried write may have stored one twice), sorted by
  (``timestamp``, ``prediction_id``); labels (the labels endpoint writes a file per request)
  by (``prediction_id``, ``observed_at``, ``source``), every report kept, sorted by
  ``observed_at``, so that the latest label of a prediction still wins;
- the merged file is written first (locally under a hidden name, then renamed), and only
  then are the merged parts deleted: a run that dies in between leaves rows twice, never
  none, and the next run repairs it to the same file;
- a day with no parts is left alone: running it twice leaves the files byte for byte.

By default it compacts every day before today (UTC), which the writer no longer writes to.
A part written into a day while it is compacted is not listed, so not deleted: the next
run merges it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from .location import Location
from .tables import write_whole

logger = logging.getLogger(__name__)

COMPACTED_NAME = "compacted.parquet"
PART = re.compile(r"^part-.*\.parquet$")
DAY_DIRECTORY = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


class TableLayout(NamedTuple):
    """How the rows of one kind of lake table are ordered and told apart."""

    marker: str
    """A column only this kind of table has."""
    sort_keys: tuple[str, ...]
    unique_by: tuple[str, ...]
    """Rows equal in these columns are one row stored twice."""


PREDICTIONS = TableLayout("timestamp", ("timestamp", "prediction_id"), ("prediction_id",))
LABELS = TableLayout(
    "observed_at",
    ("observed_at", "prediction_id", "source"),
    ("prediction_id", "observed_at", "source"),
)
LAYOUTS = (PREDICTIONS, LABELS)


@dataclass(frozen=True)
class DaySummary:
    """What compacting one day did."""

    day: str
    files_in: int
    """Files merged (parts, and the earlier compacted file if there was one); 0: skipped."""
    rows: int
    """Rows in the compacted file (after de-duplication)."""
    duplicates: int
    """Rows dropped as repeats of a ``prediction_id``."""
    file_out: str
    """The compacted file's path ("" when the day was skipped)."""

    def line(self) -> str:
        """One line for the job's output."""
        if not self.files_in:
            return f"{self.day}: nothing to compact"
        return (
            f"{self.day}: {self.files_in} files -> {self.file_out} "
            f"({self.rows} rows, {self.duplicates} duplicates dropped)"
        )


def partition_days(location: Location) -> list[str]:
    """The days that have a ``date=YYYY-MM-DD`` directory, in order."""
    import pyarrow.fs as pafs  # noqa: PLC0415

    selector = pafs.FileSelector(location.root, allow_not_found=True)
    days = []
    for info in location.filesystem.get_file_info(selector):
        match = DAY_DIRECTORY.match(info.base_name)
        if match and info.type == pafs.FileType.Directory:
            days.append(match.group(1))
    return sorted(days)


def days_before(today: dt.date, days: list[str]) -> list[str]:
    """The days of ``days`` before ``today``."""
    return [day for day in days if day < today.isoformat()]


def compact(location: Location, days: list[str]) -> list[DaySummary]:
    """Compact each of ``days`` (``YYYY-MM-DD``) under ``location``; one summary each."""
    summaries = []
    for day in days:
        summary = compact_day(location, day)
        logger.debug("compaction: %s", summary.line())
        summaries.append(summary)
    return summaries


def compact_day(location: Location, day: str) -> DaySummary:
    """Merge the day's parts (and its compacted file) into its compacted file."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.fs as pafs  # noqa: PLC0415

    directory = location.path(f"date={day}")
    filesystem = location.filesystem
    selector = pafs.FileSelector(directory, allow_not_found=True)
    infos = [info for info in filesystem.get_file_info(selector) if info.is_file]
    parts = sorted(info.path for info in infos if PART.match(info.base_name))
    target = f"{directory}/{COMPACTED_NAME}"
    if not parts:
        return DaySummary(day, 0, 0, 0, "")
    inputs = parts + [info.path for info in infos if info.base_name == COMPACTED_NAME]
    table = pa.concat_tables(
        [_read(filesystem, path) for path in inputs], promote_options="default"
    )
    merged = _unique_sorted(table)
    write_whole(location, merged, target)
    # Only now: a crash before this line leaves rows twice, which the next run merges.
    for path in parts:
        filesystem.delete_file(path)
    return DaySummary(day, len(inputs), merged.num_rows, table.num_rows - merged.num_rows, target)


def _read(filesystem: Any, path: str) -> Any:
    import pyarrow.parquet as pq  # noqa: PLC0415

    # One file, read as it is: no partition columns added from its path.
    return pq.read_table(path, filesystem=filesystem, partitioning=None)


def layout_of(table: Any) -> TableLayout:
    """The layout of ``table``: predictions or labels, by their columns.

    Raises:
        ValueError: the files are neither.
    """
    for layout in LAYOUTS:
        if layout.marker in table.column_names:
            return layout
    markers = " or ".join(layout.marker for layout in LAYOUTS)
    raise ValueError(f"neither prediction logs nor labels: no {markers} column")


def _unique_sorted(table: Any) -> Any:
    """``table`` sorted by its layout's keys, keeping the first of rows stored twice."""
    import numpy as np  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415

    layout = layout_of(table)
    ordered = table.take(_order(table, layout))
    position = pa.array(np.arange(ordered.num_rows, dtype=np.int64))
    keys = {name: ordered[name] for name in layout.unique_by}
    firsts = (
        pa.table({**keys, "position": position})
        .group_by(list(layout.unique_by), use_threads=False)
        .aggregate([("position", "min")])["position_min"]
    )
    return ordered.take(np.sort(firsts.to_numpy()))


def _order(table: Any, layout: TableLayout) -> Any:
    import pyarrow.compute as pc  # noqa: PLC0415

    return pc.sort_indices(table, sort_keys=[(name, "ascending") for name in layout.sort_keys])
