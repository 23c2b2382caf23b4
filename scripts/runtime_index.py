"""Build a local package index serving this checkout's modelrail-runtime.

Generated repositories install modelrail-runtime from a package index (the template's
``runtime_index`` answer), pinned by version and locked with hashes. Until it is published
to one, `make demo`, the tests and the bench point them at this index: a directory laid
out as a PEP 503 "simple" index (``<index>/modelrail-runtime/<wheel>`` plus ``index.html``
pages whose links carry the wheel's sha256), which uv reads like any other index.

Usage: python scripts/runtime_index.py [INDEX_DIR]   (default: build/runtime-index)
Prints the index directory. Wheels build reproducibly, so an unchanged runtime/ gives the
same bytes, hence the same hash in every generated uv.lock.
"""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INDEX = REPO_ROOT / "build" / "runtime-index"
DISTRIBUTIONS = {"modelrail-runtime": REPO_ROOT / "runtime"}


def build(index: Path = DEFAULT_INDEX) -> Path:
    """(Re)build ``index`` from the working tree; returns its absolute path."""
    index = index.resolve()
    uv = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    index.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".runtime-index-", dir=index.parent))
    staging.chmod(0o755)
    try:
        projects = []
        for name, source in DISTRIBUTIONS.items():
            project = staging / name
            subprocess.run(
                [uv, "build", "--wheel", "--quiet", "--out-dir", str(project), str(source)],
                check=True,
            )
            (project / ".gitignore").unlink(missing_ok=True)
            _write_page(project, name, sorted(project.glob("*.whl")))
            projects.append(name)
        links = "".join(f'<a href="{html.escape(p)}/">{html.escape(p)}</a>\n' for p in projects)
        (staging / "index.html").write_text(_page("modelrail packages", links), encoding="utf-8")
        # Replace the index in one step, so a reader never sees half of it.
        backup = index.with_name(index.name + ".old")
        shutil.rmtree(backup, ignore_errors=True)
        if index.exists():
            index.rename(backup)
        staging.rename(index)
        shutil.rmtree(backup, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return index


def _write_page(project: Path, name: str, wheels: list[Path]) -> None:
    links = ""
    for wheel in wheels:
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        href = html.escape(f"{wheel.name}#sha256={digest}")
        links += f'<a href="{href}">{html.escape(wheel.name)}</a>\n'
    (project / "index.html").write_text(_page(f"Links for {name}", links), encoding="utf-8")


def _page(title: str, links: str) -> str:
    return (
        "<!DOCTYPE html>\n<html>\n<head><title>"
        + html.escape(title)
        + "</title></head>\n<body>\n"
        + links
        + "</body>\n</html>\n"
    )


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_INDEX))
