"""Refuse merge conflict markers left by ``git merge`` or ``copier update --conflict inline``.

``<<<<<<< `` and ``>>>>>>> `` lines are conflicts wherever they are; ``=======`` and the
diff3 ``|||||||`` line only count between them, so that a Markdown heading underlined
with ``=======`` is not mistaken for one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from modelrail_hooks._cli import parse_files, report

OPENING = b"<<<<<<< "
CLOSING = b">>>>>>> "
INSIDE = (b"=======", b"||||||| ")
FIX = "resolve the conflict (keep the lines you want, delete the marker lines), then stage the file"


def markers(data: bytes) -> Iterator[tuple[int, str]]:
    """(line number, marker) for every conflict marker line in ``data``."""
    open_block = False
    for number, raw in enumerate(data.splitlines(), start=1):
        line = raw.rstrip(b"\r")
        if line.startswith(OPENING) or line == OPENING.rstrip():
            open_block = True
            yield number, "<<<<<<<"
        elif line.startswith(CLOSING) or line == CLOSING.rstrip():
            open_block = False
            yield number, ">>>>>>>"
        elif open_block and (line == INSIDE[0] or line.startswith(INSIDE[1])):
            yield number, line[:7].decode()


def problems(files: Sequence[Path]) -> Iterator[str]:
    """One message per marker line in the text files among ``files``."""
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield f"{path}: cannot be read ({exc.strerror}); fix its permissions"
            continue
        if b"\0" in data[:8192]:
            continue  # binary: markers there are not lines
        for number, marker in markers(data):
            yield f"{path}:{number}: merge conflict marker {marker}; {FIX}"


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``modelrail-no-conflict-markers``."""
    return report(problems(parse_files(__doc__.splitlines()[0], argv)))


if __name__ == "__main__":
    raise SystemExit(main())
