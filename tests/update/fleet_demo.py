"""``make fleet-demo``: build the test fleet and print what ``modelrail fleet`` says about it.

    python -m tests.update.fleet_demo [--keep DIR] [--write-docs]

Builds the versioned test template and the fleet of tests/update/fleet.py in a temporary
directory (or DIR, kept afterwards), then runs ``modelrail fleet status`` and
``modelrail fleet update --to <its latest tag> --run "make lint"`` on it. Their Markdown
tables are the ones docs/rolling-out.md shows (tests/update/test_fleet.py checks they
match), with the temporary template's path written as ``<template>``; ``--write-docs``
puts them there.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
from pathlib import Path

from modelrail_fleet.cli import main as modelrail

from tests.helpers import REPO_ROOT
from tests.update.fleet import TARGET, as_in_docs, build_fleet
from tests.update.template_versions import GIT_IDENTITY, build_template_repo

LINT = "make lint"
DOCS_PAGE = REPO_ROOT / "docs" / "rolling-out.md"


def demo(workdir: Path) -> dict[str, str]:
    """Build everything under ``workdir``, print both tables, return them by docs block."""
    print(f"Building the test template and fleet in {workdir} ...", file=sys.stderr)
    template = build_template_repo(workdir / "modelrail")
    repos = build_fleet(template, workdir / "fleet")
    os.environ.update(GIT_IDENTITY)
    os.environ.pop("VIRTUAL_ENV", None)
    listing = ["--from-file", str(repos)]
    runs = (
        ("fleet-status", "modelrail fleet status --from-file repos.txt", ["status", *listing]),
        (
            "fleet-update",
            f'modelrail fleet update --from-file repos.txt --to {TARGET} --run "{LINT}"',
            ["update", *listing, "--to", TARGET, "--run", LINT],
        ),
    )
    tables = {}
    for block, title, args in runs:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            modelrail(["fleet", *args])
        tables[block] = as_in_docs(out.getvalue(), template)
        print(f"\n$ {title}\n\n{tables[block]}", flush=True)
    return tables


def write_docs(tables: dict[str, str], page: Path = DOCS_PAGE) -> None:
    """Replace the ``<!-- name:begin -->`` ... ``<!-- name:end -->`` blocks of ``page``."""
    text = page.read_text(encoding="utf-8")
    for name, table in tables.items():
        pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"{page} has no <!-- {name}:begin --> ... <!-- {name}:end --> block")
        text = pattern.sub(lambda m, t=table: m.group(1) + t + m.group(2), text)
    page.write_text(text, encoding="utf-8")
    print(f"updated {page}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build here and keep it")
    parser.add_argument(
        "--write-docs", action="store_true", help=f"put the tables into {DOCS_PAGE.name}"
    )
    args = parser.parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
        tables = demo(args.keep.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="modelrail-fleet-demo-") as workdir:
            tables = demo(Path(workdir))
    if args.write_docs:
        write_docs(tables)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
