"""The distributions stay split by audience (docs/architecture.md, "Distributions").

- each distribution imports only the modelrail packages it may: the conformance suite tests
  a service from the outside and shares no code with the runtime, the fleet reads
  conformance reports as data, and only the modelrail-config hook uses the suite (its
  parser);
- each wheel ships its own package, and none force-includes another's files;
- no distribution declares a dependency on another: the hook gets the suite from
  pre-commit's clone (tests/hooks/test_pre_commit.py).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.helpers import REPO_ROOT

MODELRAIL_PACKAGES = {"modelrail_runtime", "modelrail_conformance", "modelrail_fleet"}

# Distribution directory -> (its package, the package directory, other modelrail packages
# it may import, and in which modules).
DISTRIBUTIONS = {
    "runtime": ("modelrail-runtime", "runtime/src/modelrail_runtime", {}),
    "conformance": ("modelrail-conformance", "conformance/src/modelrail_conformance", {}),
    "fleet": ("modelrail-fleet", "fleet/src/modelrail_fleet", {}),
    ".": (
        "modelrail-hooks",
        "modelrail_hooks",
        {"modelrail_conformance": {"modelrail_hooks/modelrail_config.py"}},
    ),
}


def imported_packages(source: Path) -> set[str]:
    """The top-level packages a module imports (at any depth of its code)."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("directory", DISTRIBUTIONS, ids=lambda d: DISTRIBUTIONS[d][0])
def test_each_distribution_imports_only_what_its_audience_needs(directory: str) -> None:
    _, package_dir, allowed = DISTRIBUTIONS[directory]
    own = Path(package_dir).name
    crossings = []
    for module in sorted((REPO_ROOT / package_dir).rglob("*.py")):
        name = module.relative_to(REPO_ROOT).as_posix()
        for package in sorted(imported_packages(module) & (MODELRAIL_PACKAGES - {own})):
            if name not in allowed.get(package, set()):
                crossings.append(f"{name} imports {package}")
    assert crossings == []


@pytest.mark.parametrize("directory", DISTRIBUTIONS, ids=lambda d: DISTRIBUTIONS[d][0])
def test_each_wheel_ships_its_own_package_and_nothing_else(directory: str) -> None:
    name, package_dir, _ = DISTRIBUTIONS[directory]
    pyproject = tomllib.loads((REPO_ROOT / directory / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == name
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel == {"packages": [Path(package_dir).relative_to(directory).as_posix()]}
    project = pyproject["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    others = {d for d, *_ in DISTRIBUTIONS.values()} - {name}
    assert [r for r in requirements if Requirement(r).name in others] == []


def test_the_root_workspace_has_every_distribution_but_the_hooks() -> None:
    root = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    members = sorted(d for d in DISTRIBUTIONS if d != ".")
    assert sorted(root["tool"]["uv"]["workspace"]["members"]) == members
    assert sorted(root["tool"]["uv"]["sources"]) == sorted(DISTRIBUTIONS[d][0] for d in members)
