"""The served OpenAPI document is truthful: schemathesis, every check on, finds nothing.

Schemathesis reads the document the service serves, generates requests from it (schema
examples, boundary values, random valid and invalid data, stateful sequences) and checks
each answer against it: status codes, content types, headers, bodies, that valid data is
accepted and invalid data refused, authentication, allowed methods. It runs in a process
of its own against the app (its ASGI transport), with a fixed seed and a bounded number of
examples per operation, as `st run --checks all` would against a running service; the run
is read as the conformance suite's MD-004 reads one (`run_checks`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from modelrail_conformance.rules.openapi import run_checks
from schemathesis.python import asgi

from modelrail_runtime import Settings
from modelrail_runtime.http.app import ServiceApp, create_app
from modelrail_runtime.oip.signature import ModelSignature, TensorSpec

TOKEN = "contract-fuzz-token"  # noqa: S105 - a test's own token
MAX_EXAMPLES = 25
# Schemathesis' own default statuses for a refused request.
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
SEED = 17
ISOLATED = "MODELRAIL_CONTRACT_FUZZ_ISOLATED"
"""Set in the process of its own that the fuzz runs in."""
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def app(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceApp]:
    """The iris service, labels on (with a token), in schemathesis' ASGI transport.

    Schemathesis runs the app's lifespan itself (from the first request), so the app is
    not wrapped in a `ServiceClient`; the lifespan is shut down after the module.
    """
    labels = tmp_path_factory.mktemp("labels")
    changed = dataclasses.replace(settings, labels_url=str(labels), labels_token=TOKEN)
    service = create_app(changed.check())
    yield service
    asgi.shutdown_lifespans()


def _wait_ready(app: ServiceApp, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not app.dataplane.state.ready:
        if time.monotonic() > deadline:
            pytest.fail(f"the service is not ready after {timeout:g}s: {app.dataplane.state}")
        time.sleep(0.02)


def _load(app: ServiceApp) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "deterministic": True},
            "checks": {
                "enabled": True,
                # A request refused for its size (413) is refused too.
                "negative_data_rejection": {"expected-statuses": [*REFUSED, "413"]},
            },
            "auth": {"openapi": {"labelsToken": {"bearer": TOKEN}}},
        }
    )
    # The first load starts the lifespan; the document names the model's version and
    # inputs only once the model is loaded, so it is loaded again then.
    schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    _wait_ready(app)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def _consistent_shapes(signature: ModelSignature, body: Any) -> Any:
    """``body`` with each input's variable dimensions as its 'data' implies.

    The one rule of the request the document cannot state (JSON Schema has no product):
    'data' holds prod('shape') elements, or shape[0] rows when nested. A valid body is
    mended into a request the service must accept; an invalid one keeps what makes it
    invalid (only valid dimensions are changed, and 'data' only grows, by repeating itself).
    """
    # A copy: schemathesis may share the body's parts with values it caches for later runs.
    body = copy.deepcopy(body)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    for item in inputs if isinstance(inputs, list) else []:
        spec = _spec(signature, item)
        if spec is None:  # also every item that is not an object
            continue
        shape, data = item.get("shape"), item.get("data")
        if not isinstance(data, list) or not data or not _valid(shape, spec):
            continue
        variable = [i for i, declared in enumerate(spec.shape) if declared == -1]
        if not variable:
            continue
        shape[:] = [int(dim) for dim in shape]
        for i in variable[1:]:
            shape[i] = 1
        if isinstance(data[0], list):  # nested: one row per element
            shape[variable[0]] = len(data)
            continue
        row = math.prod(shape[i] for i in range(len(shape)) if i != variable[0])
        rows = math.ceil(len(data) / row)
        item["data"] = (data * row)[: rows * row]
        shape[variable[0]] = rows
    return body


def _spec(signature: ModelSignature, item: Any) -> TensorSpec | None:
    name = item.get("name") if isinstance(item, dict) else None
    if not isinstance(name, str):
        return None
    packed = signature.packed
    return signature.input(name) or (packed if packed and packed.name == name else None)


def _valid(shape: Any, spec: TensorSpec) -> bool:
    """Whether ``shape`` is one the spec allows (a list of the right ints)."""
    if not isinstance(shape, list) or len(shape) != len(spec.shape):
        return False
    return all(
        type(dim) in (int, float) and dim >= 1 and int(dim) == dim and declared in (-1, dim)
        for dim, declared in zip(shape, spec.shape, strict=True)
    )


def test_schemathesis_finds_no_failure_with_every_check(request: pytest.FixtureRequest) -> None:
    """Run in a process of its own, unless this already is that process.

    Schemathesis and Hypothesis keep state per process (cached strategies, the constants
    Hypothesis collects from every imported module): after the conformance suite has run
    schemathesis in the same test session, a fixed seed no longer gives the same run, and
    schemathesis has failed inside its own case hashing. The document is checked the way
    it is always checked: alone.
    """
    if os.environ.get(ISOLATED) == "1":
        _check_every_operation(request.getfixturevalue("app"))
        return
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"]
    command += ["-c", str(ROOT / "pyproject.toml"), f"{__file__}::{request.node.name}"]
    proc = subprocess.run(
        command, cwd=ROOT, env={**os.environ, ISOLATED: "1"}, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def _check_every_operation(app: ServiceApp) -> None:
    schema = _load(app)
    signature = app.dataplane.state.model.signature  # type: ignore[union-attr]

    @schema.hook("map_body")
    def consistent_shapes(context: Any, body: Any) -> Any:
        if context.operation.path.endswith("/infer"):
            return _consistent_shapes(signature, body)
        return body

    # The conformance suite's own reading of a run (MD-004's): one finding per check,
    # operation and failure.
    findings = run_checks(schema)
    by_check = Counter(finding.check for finding in findings)
    report = "\n".join(finding.block() for finding in findings)
    assert not findings, f"{len(findings)} failures {dict(by_check)}:\n{report}"
