"""`make sbom` in a generated repo: a CycloneDX document of exactly the image's packages.

(`make audit` asks PyPI's vulnerability API, which tests must not depend on; its job is
checked in test_workflows.py, and its pip-audit flags here.)
"""

from __future__ import annotations

import json
import re
from concurrent.futures import Future
from pathlib import Path

import pytest

from tests.helpers import run

pytestmark = pytest.mark.slow

PINNED = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", re.MULTILINE)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_make_sbom_lists_exactly_the_images_packages(
    rendered: dict[str, Path], make_check: dict[str, Future[object]]
) -> None:
    project = rendered["defaults"]
    make_check["defaults"].result(timeout=900)  # the same environment: one user at a time
    run(["make", "sbom"], project)
    requirements = (project / "reports" / "requirements.txt").read_text()
    pinned = {normalize(name): version for name, version in PINNED.findall(requirements)}
    assert {"fastapi", "uvicorn", "onnxruntime", "modelrail-runtime"} <= set(pinned)
    # Dev tools are not in the image, nor the framework the model was compiled from.
    assert not {"pytest", "scikit-learn", "skops", "skl2onnx"} & set(pinned)
    sbom = json.loads((project / "reports" / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["specVersion"].startswith("1.")
    components = {normalize(c["name"]): c["version"] for c in sbom["components"]}
    assert components == pinned
    for component in sbom["components"]:
        assert component["purl"].startswith("pkg:pypi/")


def test_make_audit_fails_on_what_it_cannot_audit(rendered: dict[str, Path]) -> None:
    makefile = (rendered["defaults"] / "Makefile").read_text()
    audit = makefile[makefile.index("\naudit:") :].split("\n\n")[0]
    for flag in ("--require-hashes", "--disable-pip", "--strict", "--output reports/audit.json"):
        assert flag in audit, flag
