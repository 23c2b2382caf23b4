"""Check that one Python version is used everywhere a repository pins one.

A model repo names its Python in several places that nothing ties together: the
Dockerfile's base image, the CI workflow, ruff's and mypy's targets, ``.python-version``.
When one of them moves alone, the image, CI and the linters test different Pythons. This
hook collects every pinned ``X.Y`` with its file and line and requires that they agree,
that ``requires-python`` in ``pyproject.toml`` allows that version, and that ``uv.lock``
was locked for the same ``requires-python``.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from modelrail_hooks._cli import report

VERSION = r"3\.\d+"
IMAGE = re.compile(rf"(?P<image>(?:[\w.:-]+/)*python:(?P<version>{VERSION})[\w.-]*)")
DOCKER_LINE = re.compile(rf"^\s*(?:ARG\s+\w+=|FROM\s+(?:--platform=\S+\s+)?){IMAGE.pattern}", re.I)
CI_KEY = re.compile(
    rf"^\s*(?:-\s+)?(?P<key>python-version|UV_PYTHON)\s*:\s*[\"']?(?P<version>{VERSION})[\"']?\s*(?:#.*)?$"
)
CI_IMAGE = re.compile(rf"^\s*(?:-\s+)?(?:image|name)\s*:\s*[\"']?{IMAGE.pattern}")


@dataclass(frozen=True)
class Pin:
    """One place that fixes the Python version."""

    file: str
    line: int
    what: str
    version: str
    fix: str
    """How to set version ``{v}`` here (``{nodot}``: the version without its dot)."""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def fix_for(self, version: str) -> str:
        return self.fix.format(v=version, nodot=version.replace(".", ""))


def _image_fix(image: str, old: str) -> str:
    return "change it to " + image.replace(f"python:{old}", "python:{v}", 1)


@dataclass(frozen=True)
class Requirement:
    """A ``requires-python`` specifier and where it is written."""

    file: str
    line: int
    spec: str


def _line_of(lines: list[str], table: str, key: str) -> int:
    """1-based line of ``key = ...`` inside ``[table]`` (1 when it cannot be found)."""
    current = ""
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            current = stripped.strip("[] ")
        elif current == table and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return 1


def pyproject_pins(project: Path) -> tuple[list[Pin], Requirement | None, list[str]]:
    """Pins in ``[tool.ruff]``, ``[tool.mypy]``, ``[tool.pyright]``; ``requires-python``."""
    path = project / "pyproject.toml"
    if not path.is_file():
        return [], None, []
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [], None, [f"pyproject.toml: not valid TOML ({exc}); fix the syntax"]
    lines = text.splitlines()
    tool = data.get("tool", {})
    pins: list[Pin] = []
    target = tool.get("ruff", {}).get("target-version")
    if isinstance(target, str) and (match := re.fullmatch(r"py3(\d+)", target)):
        pins.append(
            Pin(
                "pyproject.toml", _line_of(lines, "tool.ruff", "target-version"),
                "[tool.ruff] target-version", f"3.{match.group(1)}",
                'set target-version = "py{nodot}" in [tool.ruff]',
            )
        )  # fmt: skip
    for table, key in (("mypy", "python_version"), ("pyright", "pythonVersion")):
        value = tool.get(table, {}).get(key)
        if isinstance(value, str) and re.fullmatch(VERSION, value):
            pins.append(
                Pin(
                    "pyproject.toml", _line_of(lines, f"tool.{table}", key),
                    f"[tool.{table}] {key}", value,
                    f'set {key} = "{{v}}" in [tool.{table}]',
                )
            )  # fmt: skip
    spec = data.get("project", {}).get("requires-python")
    requirement = None
    if isinstance(spec, str):
        requirement = Requirement(
            "pyproject.toml", _line_of(lines, "project", "requires-python"), spec
        )
    return pins, requirement, []


def dot_python_version_pins(project: Path) -> list[Pin]:
    """The version in ``.python-version`` (read by uv and pyenv)."""
    path = project / ".python-version"
    if not path.is_file():
        return []
    first = path.read_text(encoding="utf-8").strip().splitlines()[:1]
    match = re.match(rf"^(?:cpython-)?({VERSION})", first[0]) if first else None
    if not match:
        return []
    return [Pin(".python-version", 1, ".python-version", match.group(1), "write {v}")]


def dockerfile_pins(project: Path) -> list[Pin]:
    """``ARG X=python:X.Y...`` defaults and ``FROM python:X.Y...`` lines."""
    path = project / "Dockerfile"
    if not path.is_file():
        return []
    pins = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if match := DOCKER_LINE.match(line):
            image = match.group("image")
            what = "base image " + ("default" if line.lstrip().upper().startswith("ARG") else "")
            pins.append(
                Pin(
                    "Dockerfile", number, f"{what.strip()} {image}", match.group("version"),
                    _image_fix(image, match.group("version")),
                )
            )  # fmt: skip
    return pins


def ci_pins(project: Path) -> list[Pin]:
    """``python-version:`` / ``UV_PYTHON:`` in GitHub workflows; images in .gitlab-ci.yml."""
    files = sorted((project / ".github" / "workflows").glob("*.y*ml"))
    files += [project / ".gitlab-ci.yml"]
    pins = []
    for path in files:
        if not path.is_file():
            continue
        name = path.relative_to(project).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if match := CI_KEY.match(line):
                key = match.group("key")
                pins.append(Pin(name, number, key, match.group("version"), f'set {key}: "{{v}}"'))
            elif match := CI_IMAGE.match(line):
                image, old = match.group("image"), match.group("version")
                pins.append(
                    Pin(
                        name, number, f"image {image}", old,
                        _image_fix(image, old),
                    )
                )  # fmt: skip
    return pins


def lock_requirement(project: Path) -> Requirement | None:
    """The top-level ``requires-python`` of ``uv.lock``."""
    path = project / "uv.lock"
    if not path.is_file():
        return None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if match := re.match(r'^requires-python\s*=\s*"([^"]*)"', line):
            return Requirement("uv.lock", number, match.group(1))
        if line.startswith("[["):
            break  # the header is over
    return None


def _specifier(requirement: Requirement) -> SpecifierSet | None:
    try:
        return SpecifierSet(requirement.spec)
    except InvalidSpecifier:
        return None


def problems(project: Path) -> Iterator[str]:
    """Every disagreement between the places that name the Python version."""
    pins, requirement, errors = pyproject_pins(project)
    yield from errors
    pins += dot_python_version_pins(project) + dockerfile_pins(project) + ci_pins(project)

    if pins:
        counts = Counter(pin.version for pin in pins)
        # The most common version is taken as intended; a tie goes to the first file read.
        reference = max(counts, key=lambda v: (counts[v], -next(
            i for i, pin in enumerate(pins) if pin.version == v
        )))  # fmt: skip
        agreeing = [pin for pin in pins if pin.version == reference]
        witnesses = ", ".join(f"{pin.where} ({pin.what})" for pin in agreeing[:3])
        more = f" and {len(agreeing) - 3} more" if len(agreeing) > 3 else ""
        for pin in pins:
            if pin.version != reference:
                yield (
                    f"{pin.where}: {pin.what} is Python {pin.version}, but {witnesses}{more} "
                    f"say {reference}: {pin.fix_for(reference)} "
                    f"(or move the others to {pin.version})"
                )

    if requirement is not None:
        spec = _specifier(requirement)
        if spec is None:
            yield (
                f"{requirement.file}:{requirement.line}: requires-python = "
                f'"{requirement.spec}" is not a version specifier; write e.g. ">=3.11"'
            )
        else:
            for version in sorted({pin.version for pin in pins}, key=Version):
                if not spec.contains(Version(version), prereleases=True):
                    users = ", ".join(pin.where for pin in pins if pin.version == version)
                    yield (
                        f"{requirement.file}:{requirement.line}: requires-python = "
                        f'"{requirement.spec}" excludes Python {version}, used by {users}; '
                        f"widen requires-python or move them to a version it allows"
                    )
            lock = lock_requirement(project)
            locked = _specifier(lock) if lock is not None else None
            if lock is not None and locked != spec:
                yield (
                    f"{lock.file}:{lock.line}: locked for requires-python "
                    f'"{lock.spec}", but {requirement.file}:{requirement.line} says '
                    f'"{requirement.spec}": run `uv lock` and commit uv.lock'
                )


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``modelrail-check-python-version``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--project", type=Path, default=Path(), help="the repository root (default: .)"
    )
    # pre-commit may pass file names; the check always covers the whole project.
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return report(problems(args.project))


if __name__ == "__main__":
    raise SystemExit(main())
