"""``python -m modelrail_runtime.lake performance``: the performance report from a shell.

`add_parser` adds the ``performance`` subcommand to the lake's command line
(``lake/__main__.py``). Every option defaults to the variable the Kubernetes job sets.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .performance import Performance, PerformanceError
from .report import ReportRequest, run
from .tables import shown

COLUMNS = ("date", "model_version", "predictions", "labelled", "coverage")
SCORES = ("accuracy", "macro_f1", "rmse", "mae")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``performance`` (its arguments, and `main` as its ``handler``) to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "performance",
        help="realized performance: predictions joined with labels, per version and day",
        description=(
            "Join the prediction logs with the labels table, compute the realized metrics "
            "per model version and day, write them to OUTPUT and expose the latest."
        ),
    )
    _arguments(parser)
    parser.set_defaults(handler=main)
    return parser


def _arguments(parser: argparse.ArgumentParser) -> None:
    environ = os.environ
    parser.add_argument(
        "--predictions",
        default=environ.get("PREDICTION_LOG_URL", "prediction-logs"),
        help="the prediction logs' directory or URL (default: $PREDICTION_LOG_URL)",
    )
    parser.add_argument(
        "--labels",
        default=environ.get("LABELS_URL", "labels"),
        help="the labels table's directory or URL (default: $LABELS_URL)",
    )
    parser.add_argument(
        "--output",
        default=environ.get("PERFORMANCE_URL", "performance"),
        help="where the per-day results go (default: $PERFORMANCE_URL)",
    )
    parser.add_argument(
        "--pushgateway",
        default=environ.get("PUSHGATEWAY_URL") or None,
        help="push the latest scores to this Pushgateway (default: $PUSHGATEWAY_URL)",
    )
    parser.add_argument(
        "--textfile", type=Path, help="write the latest scores to this Prometheus textfile"
    )
    parser.add_argument(
        "--days",
        type=_positive,
        default=environ.get("PERFORMANCE_DAYS") or None,
        help="only the last N days, today included (default: $PERFORMANCE_DAYS, else all)",
    )


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--days takes a whole number of days >= 1, not {raw!r}")
    return value


def main(args: argparse.Namespace) -> int:
    """Run the report for parsed ``args``; print the table; the exit status."""
    request = ReportRequest(
        predictions_url=args.predictions,
        labels_url=args.labels,
        output_url=args.output,
        days=args.days,
        pushgateway=args.pushgateway,
        textfile=args.textfile,
    )
    try:
        rows = run(request)
    except (PerformanceError, KeyError) as exc:
        print(f"performance: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"performance: the lake cannot be read or written: {exc}", file=sys.stderr)
        return 1
    if not rows:
        print(f"performance: no predictions under {shown(args.predictions)}", file=sys.stderr)
        return 1
    print(format_table(rows))
    print(f"written under {shown(args.output)}", file=sys.stderr)
    return 0


def format_table(rows: Sequence[Performance]) -> str:
    """``rows`` as an aligned text table, with the scores their task has."""
    scores = [name for name in SCORES if any(getattr(row, name) is not None for row in rows)]
    header = [*COLUMNS, *scores]
    lines = [[_cell(getattr(row, name)) for name in header] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in lines)) for i, name in enumerate(header)]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in [header, *lines]
    )


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
