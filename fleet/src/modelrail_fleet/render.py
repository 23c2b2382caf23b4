"""Fleet results as a Markdown table (for people and pull requests) and as JSON (for tools).

The Markdown holds only what is stable between runs of the same fleet (no timings, no
commit hashes), so that a table in the docs can be compared with a fresh run; the JSON
holds everything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from modelrail_fleet.status import RepoStatus
from modelrail_fleet.update import UpdateResult

SCHEMA_STATUS = "modelrail-fleet-status/1"
SCHEMA_UPDATE = "modelrail-fleet-update/1"
NONE = "—"


def cell(text: str | None) -> str:
    """A table cell: one line, pipes escaped, an em dash when empty."""
    if not text:
        return NONE
    return " ".join(text.split()).replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[str | None]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def yes_no(value: bool | None) -> str | None:
    """``yes``/``no``, or None when unknown."""
    return None if value is None else ("yes" if value else "no")


def status_markdown(statuses: Sequence[RepoStatus]) -> str:
    """The ``fleet status`` table."""
    return table(
        ("Repository", "Template", "Latest", "Update available", "Last conformance", "Notes"),
        [
            (
                s.repo,
                s.template,
                s.latest,
                yes_no(s.update_available),
                s.conformance.short() if s.conformance else "no report",
                "; ".join(s.notes),
            )
            for s in statuses
        ],
    )


def update_markdown(results: Sequence[UpdateResult]) -> str:
    """The ``fleet update`` table."""
    return table(
        ("Repository", "From", "To", "Outcome", "Branch", "Reason"),
        [(r.repo, r.from_version, r.to_version, r.outcome, r.branch, r.reason) for r in results],
    )


def status_json(statuses: Sequence[RepoStatus]) -> str:
    """The ``fleet status`` results as JSON."""
    return _dump(SCHEMA_STATUS, [asdict(s) for s in statuses])


def update_json(results: Sequence[UpdateResult]) -> str:
    """The ``fleet update`` results as JSON."""
    return _dump(SCHEMA_UPDATE, [asdict(r) for r in results])


def _dump(schema: str, repos: list[dict[str, Any]]) -> str:
    return json.dumps({"schema": schema, "repos": repos}, indent=2) + "\n"
