"""``python -m derived [--check]``: rewrite (or check) the files derived from copier.yml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from derived import cookiecutter_json, questions_page
from derived.copier_questions import ROOT, load


def derived_files(root: Path = ROOT) -> dict[Path, str]:
    """Each file derived from ``root/copier.yml`` and the text it must have."""
    config, questions = load(root / "copier.yml")
    return {
        root / "cookiecutter.json": cookiecutter_json.render(questions),
        root / "docs" / "questions.md": questions_page.render(config, questions),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    stale = []
    for path, text in derived_files(args.root).items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path.relative_to(args.root).as_posix())
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(args.root)}")
    if stale:
        print(
            f"stale: {', '.join(stale)}; copier.yml changed: run `make derived` and commit",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
