"""MD: the served OpenAPI document is truthful, checked with schemathesis over HTTP.

Schemathesis reads the document the service serves, generates requests from it (schema
examples, boundary values, valid and invalid data) and checks each answer against it:
status codes, content types, headers, bodies, that valid data is accepted and invalid data
refused, authentication, allowed methods. The run has a fixed seed and a bounded number of
examples per operation, as ``st run --checks all`` would with the same settings.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis.engine import Status, events, from_schema
from schemathesis.errors import LoaderError
from schemathesis.specs.openapi._caches import clear_all

from modelrail_conformance.failures import NotApplicable, RuleViolation
from modelrail_conformance.load import require_loopback
from modelrail_conformance.registry import Level
from modelrail_conformance.rules._support import rule
from modelrail_conformance.rules._tensors import model_metadata
from modelrail_conformance.rules.metadata import find_openapi
from modelrail_conformance.target import Target

SEED = 17
EXAMPLES = 4
"""Examples per operation and phase: enough to reach each documented status, few enough
for the rule to take seconds."""
REFUSED = [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx",
]  # fmt: skip
"""What refusing an invalid request may answer: schemathesis' own list, and 413 (refused
for its size)."""
SHOWN = 3
"""Failures named in the one-line message (the report's details list them all)."""


@dataclass(frozen=True)
class Finding:
    """One failed check: which, on which operation, what came back, how to reproduce it."""

    check: str
    operation: str
    title: str
    received: str
    reproduce: str
    message: str = ""

    def line(self) -> str:
        """One line for the message."""
        return f"{self.operation}: {self.title} ({self.check}, received {self.received})"

    def block(self) -> str:
        """A few lines for the report's details."""
        said = "".join(f"\n    {line}" for line in self.message.strip().splitlines())
        return (
            f"{self.check}: {self.operation}: {self.title}{said}\n"
            f"    Response: {self.received}\n    Reproduce: {self.reproduce}"
        )


@rule("MD-004", Level.SHOULD, "The OpenAPI document is truthful")
def openapi_truthful(target: Target) -> None:
    """The served OpenAPI document SHOULD describe what the service really answers: each operation's status codes, content types, headers and bodies, requests valid by its schemas accepted and invalid ones refused.

    Why:
        Clients are generated from the document and teams read it: a status it does not
        list (a 400 documented as 422, an undocumented 503), a body of another shape, or a
        request it allows that the service refuses breaks every client that trusted it.

    Checked by:
        Running schemathesis with every check against the document MD-003 finds (loopback
        services only): schema examples, boundary values and random valid and invalid
        data for each operation, with a fixed seed and a few examples each. Each inference
        request is first made to hold what JSON Schema cannot state, from the model
        metadata: each input's variable dimensions agree with its data, and its inputs
        share one batch size. The message names the first failures, the report's
        ``details`` all of them. Not applicable when no document is served.

    Fix:
        Make the document say what the service does, or the service what the document
        says: every status it answers, with its content type and body, and the request
        schema the model really takes. ``st run --checks all <base-url>/openapi.json``
        shows each failure with a curl command.
    """
    require_loopback(target.base_url, "generated requests")
    found = find_openapi(target.base_url)
    if found.document is None:
        raise NotApplicable("no OpenAPI document (MD-003 reports it)")
    declared = {
        spec["name"]: [int(d) for d in spec["shape"]] for spec in model_metadata(target)["inputs"]
    }
    request = f"schemathesis, every check, on the operations of GET {found.path}"
    expected = f"every answer as {found.path} documents it"
    # Schemathesis caches strategies per process, keyed partly by id() of objects that may
    # be gone and their id reused by another run's (the suite run in-process, twice): a
    # cached strategy of another schema then yields values this one cannot take. Every run
    # starts from empty caches, so a seed gives the same verdict whatever ran before.
    clear_all()
    try:
        schema = schemathesis.openapi.from_dict(found.document, config=_config(target.base_url))
    except LoaderError as exc:
        raise RuleViolation(
            request,
            f"a document schemathesis cannot load ({type(exc).__name__}: {exc})",
            "a valid OpenAPI 3 document",
            reproduce=f"curl -i {target.base_url}{found.path}",
        ) from exc

    @schema.hook("map_body")
    def consistent_shapes(context: Any, body: Any) -> Any:
        operation = context.operation
        if operation.method.upper() == "POST" and operation.path.endswith("/infer"):
            return consistent_inputs(declared, body)
        return body

    findings = run_checks(schema)
    if not findings:
        return
    counts = Counter(f.check for f in findings)
    per_check = ", ".join(f"{check}: {n}" for check, n in counts.most_common())
    first = "; ".join(f.line() for f in findings[:SHOWN])
    raise RuleViolation(
        request,
        f"{len(findings)} failures ({per_check}); first: {first}",
        expected,
        reproduce=findings[0].reproduce,
        details="\n".join(f.block() for f in findings),
    )


def _config(base_url: str) -> Any:
    return schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "seed": SEED,
            "request-timeout": 10,
            "generation": {"max-examples": EXAMPLES, "mode": "all", "deterministic": True},
            "checks": {
                "enabled": True,
                "negative_data_rejection": {"expected-statuses": REFUSED},
            },
        }
    )


def run_checks(schema: Any) -> list[Finding]:
    """Every failed check of one full schemathesis run: the first of each check, operation
    and title (a failure found again with other data is the same failure)."""
    found: dict[tuple[str, str, str], Finding] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, nodes in recorder.checks.items():
                for node in nodes:
                    if node.status is not Status.FAILURE or node.failure_info is None:
                        continue
                    failure = node.failure_info.failure
                    interaction = recorder.interactions.get(case_id)
                    response = interaction.response if interaction else None
                    received = _describe(response) if response else "no response"
                    finding = Finding(
                        node.name,
                        recorder.label,
                        failure.title,
                        received,
                        node.failure_info.code_sample,
                        failure.message,
                    )
                    found.setdefault((node.name, recorder.label, failure.title), finding)
        elif isinstance(event, events.NonFatalError):
            text = event.info.format()
            found.setdefault(
                ("error", event.label, text),
                Finding("error", event.label, text.strip().splitlines()[0], "-", "-"),
            )
        elif isinstance(event, events.FatalError):
            text = repr(event.exception)
            found.setdefault(("fatal", "-", text), Finding("fatal", "-", text, "-", "-"))
    return list(found.values())


def _describe(response: Any, limit: int = 160) -> str:
    """Status and a short body, as ``Exchange.describe`` writes them."""
    body = bytes(response.content or b"").decode("utf-8", "replace")
    body = body if len(body) <= limit else body[:limit] + "..."
    return f"{response.status_code} {body!r}" if body else f"{response.status_code} (empty body)"


def consistent_inputs(declared: dict[str, list[int]], body: Any) -> Any:
    """``body`` with each input's variable dimensions as its 'data' implies, and one batch size.

    The rules of an inference request a JSON Schema cannot state: 'data' holds prod('shape')
    elements (or shape[0] rows when nested), and the inputs whose first dimension is
    variable share it (the batch). A valid body is mended into a request the service must
    accept; an invalid one keeps what makes it invalid: only inputs that are valid so far
    are changed, only their variable dimensions, and 'data' only grows, by repeating itself.

    Args:
        declared: Each input's shape as the model metadata declares it (-1 = variable).
        body: The generated request body; never changed (schemathesis may share its parts
            with the values it caches for the next run: a copy is mended and returned).
    """
    body = copy.deepcopy(body)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    batched: list[tuple[dict[str, Any], int]] = []  # (input, elements per row), batch first
    for item in inputs if isinstance(inputs, list) else []:
        name = item.get("name") if isinstance(item, dict) else None
        spec = declared.get(name) if isinstance(name, str) else None
        if spec is None:
            continue
        shape, data = item.get("shape"), item.get("data")
        if not isinstance(data, list) or not data or not _valid(shape, spec):
            continue
        variable = [i for i, dim in enumerate(spec) if dim == -1]
        if not variable:
            continue
        shape[:] = [int(dim) for dim in shape]
        for i in variable[1:]:
            shape[i] = 1
        first = variable[0]
        if isinstance(data[0], list):  # nested: one row per element
            row = 0
            shape[first] = len(data)
        else:
            row = math.prod(dim for i, dim in enumerate(shape) if i != first)
            shape[first] = math.ceil(len(data) / row)
            _grow(item, shape[first] * row)
        if first == 0:
            batched.append((item, row))
    batch = max((item["shape"][0] for item, _ in batched), default=0)
    for item, row in batched:
        item["shape"][0] = batch
        _grow(item, batch * row if row else batch)
    return body


def _grow(item: dict[str, Any], size: int) -> None:
    """Make ``item['data']`` ``size`` long by repeating it (``size`` >= its length)."""
    data = item["data"]
    item["data"] = (data * math.ceil(size / len(data)))[:size]


def _valid(shape: Any, spec: list[int]) -> bool:
    """Whether ``shape`` is one the declared ``spec`` allows (a list of the right ints)."""
    if not isinstance(shape, list) or len(shape) != len(spec):
        return False
    return all(
        type(dim) in (int, float) and dim >= 1 and float(dim).is_integer() and want in (-1, dim)
        for dim, want in zip(shape, spec, strict=True)
    )


RULES = (openapi_truthful,)
