"""`make lake-report`: example DuckDB queries over the prediction logs.

Usage: ``python monitoring/lake_report.py [LAKE]``, where LAKE is the directory the
service writes to (``PREDICTION_LOG_URL``, default ``prediction-logs``). The files are
read as one table, ``events``, with the ``date`` column taken from the partition
directories. Copy a query and change it: DuckDB reads the files in place.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

QUERIES = {
    "Traffic per day": """
        SELECT date, count(*) AS requests, sum("rows") AS predictions
        FROM events GROUP BY date ORDER BY date
    """,
    "Latency per model version (ms)": """
        SELECT model_version, count(*) AS requests,
               round(1000 * quantile_cont(latency_seconds, 0.50), 3) AS p50,
               round(1000 * quantile_cont(latency_seconds, 0.90), 3) AS p90,
               round(1000 * quantile_cont(latency_seconds, 0.99), 3) AS p99
        FROM events GROUP BY model_version ORDER BY model_version
    """,
    "Prediction distribution": """
        WITH counted AS (
            SELECT model_version, predicted_class, count(*) AS predictions
            FROM (SELECT model_version, unnest(outputs.label) AS predicted_class FROM events)
            GROUP BY model_version, predicted_class
        )
        SELECT model_version, predicted_class, predictions,
               round(100 * predictions / sum(predictions) OVER (PARTITION BY model_version), 1)
                   AS share_percent
        FROM counted ORDER BY model_version, predicted_class
    """,
}


def report(lake: Path) -> str:
    """Every query of `QUERIES` over the Parquet files under ``lake``, as text tables."""
    connection = duckdb.connect()
    files = connection.read_parquet(str(lake / "**" / "*.parquet"), hive_partitioning=True)
    files.create_view("events")
    sections = []
    for title, query in QUERIES.items():
        relation = connection.sql(query)
        sections.append(f"{title}\n{relation}")
    return "\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    """Print the report for the directory named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("lake", type=Path, nargs="?", default=Path("prediction-logs"))
    args = parser.parse_args(argv)
    if not any(args.lake.glob("date=*/*.parquet")):
        print(f"lake-report: no prediction logs under {args.lake}/date=*/", file=sys.stderr)
        return 1
    print(report(args.lake))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
