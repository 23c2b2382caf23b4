"""Build a local package index serving the CPU wheel of torch that this machine holds.

A PyTorch model repository installs torch from PyTorch's CPU index
(https://download.pytorch.org/whl/cpu): PyPI's Linux wheel of torch is the CUDA build,
gigabytes a CPU-only training and test run never uses. Where PyTorch's index cannot be
reached (this project's tests and CI), uv is pointed at this one instead: a directory laid
out as a PEP 503 "simple" index, ``<index>/simple/torch/<wheel>`` plus ``index.html``
pages whose links carry the wheel's sha256, which uv reads like any other index (``uv pip
install --index file://<index>/simple``, or ``UV_INDEX``).

The wheel is the one pip finds without downloading it: ``torch==<version>+cpu`` (a local
version no index but PyTorch's and a local directory holds) through pip's own
configuration (its find-links) and ``--find-links`` given here. It is never fetched from
PyPI: PyPI has no ``+cpu`` release, so a machine without the wheel fails here, saying so,
rather than downloading the CUDA build.

Usage: python scripts/torch_index.py [--torch VERSION] [--find-links DIR] [INDEX_DIR]
(default: build/torch-index, torch 2.13.0). Prints the index URL: file://INDEX_DIR/simple.
A wheel already in the index is kept (no second copy of a few hundred MB).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INDEX = REPO_ROOT / "build" / "torch-index"
DEFAULT_TORCH = "2.13.0"
PROJECT = "torch"


class TorchWheelNotFoundError(RuntimeError):
    """No CPU wheel of the requested torch is on this machine for this Python."""


def build(
    index: Path = DEFAULT_INDEX, version: str = DEFAULT_TORCH, find_links: tuple[Path, ...] = ()
) -> str:
    """(Re)build ``index`` holding torch ``version``'s CPU wheel; returns the index URL.

    Raises:
        TorchWheelNotFoundError: pip finds no ``torch==<version>+cpu`` wheel for this
            Python locally.
    """
    index = index.resolve()
    project = index / "simple" / PROJECT
    project.mkdir(parents=True, exist_ok=True)
    wanted = f"{version}+cpu"
    if not _wheels(project, wanted):
        _fetch(project, wanted, find_links)
    _write_page(project, f"Links for {PROJECT}", _links(sorted(project.glob("*.whl"))))
    link = f'<a href="{PROJECT}/">{PROJECT}</a>\n'
    _write_page(index / "simple", "Simple index", link)
    return (index / "simple").as_uri()


def _wheels(project: Path, version: str) -> list[Path]:
    # A wheel file name spells the local version's "+" as it is.
    return sorted(project.glob(f"{PROJECT}-{version}-*.whl"))


def _fetch(project: Path, version: str, find_links: tuple[Path, ...]) -> None:
    """Copy the wheel pip finds for ``torch==version`` into ``project``."""
    staging = Path(tempfile.mkdtemp(prefix=".torch-wheel-", dir=project))
    command = [
        *_pip(),
        "download",
        f"{PROJECT}=={version}",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(staging),
        "--quiet",
        *(f"--find-links={directory}" for directory in find_links),
    ]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        found = sorted(staging.glob("*.whl"))
        if proc.returncode != 0 or not found:
            reason = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise TorchWheelNotFoundError(
                f"pip found no wheel of {PROJECT}=={version} for Python "
                f"{sys.version_info.major}.{sys.version_info.minor} on this machine ({reason}). "
                f"Put the CPU wheel ({PROJECT}-{version}-cp3XX-...whl, from "
                "https://download.pytorch.org/whl/cpu) in a directory and pass --find-links DIR"
            )
        for wheel in found:
            wheel.rename(project / wheel.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _pip() -> list[str]:
    """A pip of this Python: its own, or its base interpreter's (a uv venv has no pip)."""
    candidates = [sys.executable, getattr(sys, "_base_executable", ""), shutil.which("python3")]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    check = f"import pip, sys; assert '%d.%d' % sys.version_info[:2] == {version!r}"
    for python in filter(None, candidates):
        if subprocess.run([python, "-c", check], capture_output=True, check=False).returncode == 0:
            return [python, "-m", "pip"]
    raise TorchWheelNotFoundError(
        f"no pip for Python {version} here (this Python's, or its base interpreter's): "
        "install pip, or run this script with a Python that has it"
    )


def _links(wheels: list[Path]) -> str:
    links = ""
    for wheel in wheels:
        digest = _sha256(wheel)
        href = html.escape(f"{quote(wheel.name)}#sha256={digest}")
        links += f'<a href="{href}">{html.escape(wheel.name)}</a>\n'
    return links


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_page(directory: Path, title: str, links: str) -> None:
    page = (
        "<!DOCTYPE html>\n<html>\n<head><title>"
        + html.escape(title)
        + "</title></head>\n<body>\n"
        + links
        + "</body>\n</html>\n"
    )
    # Written beside, then renamed: a reader never sees half a page.
    staging = directory / ".index.html.tmp"
    staging.write_text(page, encoding="utf-8")
    staging.replace(directory / "index.html")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", nargs="?", type=Path, default=DEFAULT_INDEX)
    parser.add_argument("--torch", default=DEFAULT_TORCH, help="the torch version (CPU build)")
    parser.add_argument(
        "--find-links", action="append", type=Path, default=[], help="a directory of wheels"
    )
    args = parser.parse_args(argv)
    try:
        print(build(args.index, args.torch, tuple(args.find_links)))
    except TorchWheelNotFoundError as exc:
        print(f"torch_index: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
