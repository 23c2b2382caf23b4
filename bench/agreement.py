"""Same predictions: (b), (b') and (c) of a group answer the same rows alike (issue 15).

(c) and (b') serve the model compiled to ONNX, which onnxruntime computes in float32;
(b) runs the native framework (scikit-learn, LightGBM) in float64. A faster server that
answers otherwise would not serve the same model, and the ratios would compare two
models. So once per run, before measuring, the same fixed rows (`payloads.spread_rows`)
go to each live target of the iris and LightGBM groups, 64 rows per request, and each
target's answers are compared with its group's (b): the largest absolute difference of a
probability (and the row where it is), the rows whose label differs, and whether both
answer the same outputs in the same datatypes. Issue 15 asks for probabilities within
1e-6 and identical labels; anything else is a FAIL line in the report.

The comparison (`answer_of`, `compare`, `check`) is pure; `agreement` makes the requests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bench import payloads
from bench.servers import http
from bench.stats import Check

ROWS: Final = 256
PER_REQUEST: Final = 64
"""Rows per request: the larger payload the bench measures."""
TOLERANCE: Final = 1e-6
"""Issue 15: the largest difference of a probability allowed between (c) and (b)."""
CHECK: Final = f"same predictions as (b): probabilities within {TOLERANCE:g}, labels identical"
OUTPUTS: Final = ("label", "probabilities")


@dataclass(frozen=True)
class Comparison:
    """One group's targets whose answers must equal its native (b)'s."""

    reference: str
    features: int
    targets: tuple[str, ...]


GROUPS: Final = (
    Comparison("b", 4, ("b-onnx", "c", "c-lean")),
    Comparison("b-lgbm", payloads.LIGHTGBM_FEATURES, ("b-onnx-lgbm", "c-lgbm")),
)
"""The iris group (with any ``--variant`` target, ``c:LABEL``) and the LightGBM group."""


class AnswerError(ValueError):
    """An answer that cannot be compared: not OIP, no label or probabilities, other rows."""


@dataclass(frozen=True)
class Answer:
    """A target's label and probabilities for the rows, and the datatype of each."""

    labels: tuple[Any, ...]
    probabilities: tuple[tuple[float, ...], ...]
    datatypes: tuple[str, str]
    """The datatypes of ``label`` and ``probabilities``, as answered."""

    def __add__(self, other: Answer) -> Answer:
        """The answers to two requests, one after the other."""
        if self.datatypes != other.datatypes:
            raise AnswerError(f"datatypes change between requests: {self.datatypes} and "
                              f"{other.datatypes}")  # fmt: skip
        return Answer(
            self.labels + other.labels,
            self.probabilities + other.probabilities,
            self.datatypes,
        )


def answer_of(body: bytes) -> Answer:
    """The ``label`` and ``probabilities`` outputs of an OIP response body.

    Raises:
        AnswerError: the body is not an OIP response with both outputs, or their shapes
            disagree (labels for other rows than the probabilities).
    """
    try:
        outputs = {o["name"]: o for o in json.loads(body)["outputs"]}
        label, scores = (outputs[name] for name in OUTPUTS)
        rows, classes = (int(n) for n in scores["shape"])
        data = [float(v) for v in scores["data"]]
        labels = tuple(label["data"])
        datatypes = (str(label["datatype"]), str(scores["datatype"]))
    except (ValueError, KeyError, TypeError) as err:
        raise AnswerError(
            f"no {' and '.join(OUTPUTS)} outputs [rows], [rows, classes] in {body[:200]!r}"
        ) from err
    if len(labels) != rows or len(data) != rows * classes:
        raise AnswerError(
            f"{len(labels)} labels and {len(data)} probabilities for shape [{rows}, {classes}]"
        )
    table = tuple(tuple(data[i * classes : (i + 1) * classes]) for i in range(rows))
    return Answer(labels, table, datatypes)


@dataclass(frozen=True)
class Difference:
    """How a target's answers differ from the reference's, row by row."""

    rows: int
    max_abs_diff: float
    worst_row: int
    """The row of the largest difference (0 when there is none)."""
    label_mismatches: int
    first_mismatch: int | None
    datatypes: str | None
    """``label INT64 vs FP64``-style when an output's datatype differs, else None."""

    def ok(self, tolerance: float = TOLERANCE) -> bool:
        """Within ``tolerance``, the same labels, the same datatypes."""
        return agrees(self.as_dict(), tolerance)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the results file."""
        return {
            "rows": self.rows,
            "max_abs_diff": self.max_abs_diff,
            "worst_row": self.worst_row,
            "label_mismatches": self.label_mismatches,
            "first_mismatch": self.first_mismatch,
            "datatypes": self.datatypes,
        }


def compare(reference: Answer, other: Answer) -> Difference:
    """``other``'s answers against ``reference``'s, for the same rows in the same order.

    Raises:
        AnswerError: they answer different numbers of rows or of classes.
    """
    if len(reference.labels) != len(other.labels):
        raise AnswerError(f"{len(other.labels)} rows answered, the reference answered "
                          f"{len(reference.labels)}")  # fmt: skip
    worst, worst_row = 0.0, 0
    for row, (a, b) in enumerate(zip(reference.probabilities, other.probabilities, strict=True)):
        if len(a) != len(b):
            raise AnswerError(f"{len(b)} classes in row {row}, the reference has {len(a)}")
        diff = max((abs(x - y) for x, y in zip(a, b, strict=True)), default=0.0)
        if diff > worst:
            worst, worst_row = diff, row
    mismatches = [
        row for row, (a, b) in enumerate(zip(reference.labels, other.labels, strict=True)) if a != b
    ]
    types = [
        f"{name} {mine} vs {theirs}"
        for name, theirs, mine in zip(OUTPUTS, reference.datatypes, other.datatypes, strict=True)
        if mine != theirs
    ]
    return Difference(
        len(reference.labels),
        worst,
        worst_row,
        len(mismatches),
        mismatches[0] if mismatches else None,
        ", ".join(types) or None,
    )


def collect(url: str, features: int, rows: int = ROWS, per_request: int = PER_REQUEST) -> Answer:
    """POST the fixed rows to ``url``, ``per_request`` at a time; the answers, in order.

    Raises:
        AnswerError: a request does not answer 200, or its answer cannot be read.
    """
    table = payloads.spread_rows(rows, features)
    found: Answer | None = None
    for start in range(0, len(table), per_request):
        body = payloads.oip_rows(table[start : start + per_request])
        status, answer = http(url, body.encode(), timeout=30)
        if status != 200:
            raise AnswerError(f"POST {url} answered {status}: {answer[:200]!r}")
        part = answer_of(answer)
        found = part if found is None else found + part
    if found is None:
        raise AnswerError("no rows to send")
    return found


def targets_of(group: Comparison, live: Sequence[str]) -> list[str]:
    """The live targets compared with ``group``'s reference (the iris group's variants too)."""
    found = [tid for tid in group.targets if tid in live]
    if group.reference == "b":
        found += [tid for tid in live if tid.startswith("c:")]
    return found


def agreement(live: Mapping[str, str]) -> dict[str, Any]:
    """Each group's live targets (id -> infer URL) against its (b), on the same `ROWS` rows.

    Returns ``rows``, ``tolerance``, ``targets`` (per target: its reference and the
    `Difference`) and ``errors`` (per target: why it was not compared); empty when no
    target of either group runs.
    """
    out: dict[str, Any] = {"rows": ROWS, "tolerance": TOLERANCE, "targets": {}, "errors": {}}
    for group in GROUPS:
        tids = targets_of(group, list(live))
        if not tids:
            continue
        if group.reference not in live:
            for tid in tids:
                out["errors"][tid] = f"{group.reference} is not running: nothing to compare with"
            continue
        try:
            reference = collect(live[group.reference], group.features)
        except AnswerError as err:
            for tid in tids:
                out["errors"][tid] = f"{group.reference}: {err}"
            continue
        for tid in tids:
            try:
                diff = compare(reference, collect(live[tid], group.features))
            except AnswerError as err:
                out["errors"][tid] = str(err)
                continue
            out["targets"][tid] = {"reference": group.reference, **diff.as_dict()}
    if not out["targets"] and not out["errors"]:
        return {}
    return out


def summary(tid: str, found: Mapping[str, Any]) -> str:
    """One target's comparison in a line: ``c: max |dp| 5.9e-08 (row 17), 0 labels differ``."""
    text = (
        f"{tid}: max |dp| {found['max_abs_diff']:.1e} (row {found['worst_row']}), "
        f"{found['label_mismatches']} labels differ"
    )
    if found["first_mismatch"] is not None:
        text += f" (first: row {found['first_mismatch']})"
    if found.get("datatypes"):
        text += f", datatypes differ: {found['datatypes']}"
    return text


def agrees(found: Mapping[str, Any], tolerance: float = TOLERANCE) -> bool:
    """Whether one target's comparison (`Difference.as_dict`) is within ``tolerance``, with
    the same labels and datatypes."""
    return (
        found["max_abs_diff"] <= tolerance
        and not found["label_mismatches"]
        and not found.get("datatypes")
    )


def check(found: Mapping[str, Any]) -> Check:
    """PASS when every compared target is within `TOLERANCE` with the same labels and
    datatypes; FAIL when one is not, or when a target running could not be compared."""
    targets = found.get("targets") or {}
    errors = found.get("errors") or {}
    if not targets and not errors:
        return Check(CHECK, "N/A", "not measured (no (b') or (c) of the iris or LightGBM group)")
    tolerance = float(found.get("tolerance", TOLERANCE))
    bad = [tid for tid, v in targets.items() if not agrees(v, tolerance)]
    parts = [summary(tid, v) for tid, v in targets.items()]
    parts += [f"{tid}: not compared ({reason})" for tid, reason in errors.items()]
    status = "FAIL" if bad or errors else "PASS"
    return Check(CHECK, status, f"{'; '.join(parts)}; over {found.get('rows', ROWS)} rows")
