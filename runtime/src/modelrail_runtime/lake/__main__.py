"""``python -m modelrail_runtime.lake <command>``: jobs over the prediction lake.

    python -m modelrail_runtime.lake compact s3://bucket/predictions
    python -m modelrail_runtime.lake compact prediction-logs --day 2024-05-01 --day 2024-05-02
    python -m modelrail_runtime.lake performance --predictions s3://... --labels s3://... \
        --output s3://... --pushgateway http://pushgateway:9091

Each command is a function taking the parsed arguments and returning the exit code; add
one with a parser in `build_parser`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Sequence

from . import performance_cli
from .compaction import compact, days_before, partition_days
from .location import LocationError, open_location

EXIT_BAD_INPUT = 2


def _day(raw: str) -> str:
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a day: expected YYYY-MM-DD") from None


def run_compact(arguments: argparse.Namespace) -> int:
    """Compact the chosen days of each table (default: every day before today, UTC)."""
    try:
        locations = [open_location(url) for url in arguments.url]
    except LocationError as exc:
        print(f"compact: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    today = dt.datetime.now(dt.UTC).date()
    for location in locations:
        days = arguments.day or days_before(today, partition_days(location))
        summaries = compact(location, days)
        for summary in summaries:
            print(summary.line())
        merged = [summary for summary in summaries if summary.files_in]
        print(
            f"{location.url}: compacted {len(merged)} of {len(summaries)} days: "
            f"{sum(s.files_in for s in merged)} files in, {len(merged)} files out, "
            f"{sum(s.rows for s in merged)} rows"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job."""
    parser = argparse.ArgumentParser(
        prog="python -m modelrail_runtime.lake", description="Jobs over the prediction lake."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    compact_parser = commands.add_parser(
        "compact",
        help="merge each day's small files (prediction logs or labels) into one",
        description="Merge each day's part files into date=YYYY-MM-DD/compacted.parquet "
        "(prediction logs: rows de-duplicated by prediction_id, sorted by timestamp; "
        "labels: every report kept, sorted by observed_at). Idempotent.",
    )
    compact_parser.add_argument(
        "url",
        nargs="+",
        help="a lake table: a directory or URL (s3://bucket/prefix), as PREDICTION_LOG_URL "
        "or LABELS_URL",
    )
    compact_parser.add_argument(
        "--day",
        action="append",
        type=_day,
        help="a day to compact, YYYY-MM-DD (repeatable; default: every day before today, UTC)",
    )
    compact_parser.set_defaults(handler=run_compact)
    performance_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; its exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    arguments = build_parser().parse_args(argv)
    code: int = arguments.handler(arguments)
    return code


if __name__ == "__main__":
    sys.exit(main())
