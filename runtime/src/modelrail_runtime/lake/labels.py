"""Ground truth: the labels table, checking reported outcomes, and writing them.

The labels table holds the true outcome of a prediction, reported later by the team's
systems, by its ``prediction_id`` (the id every inference response returns):

| Column | Type | Content |
| --- | --- | --- |
| `prediction_id` | string | the prediction the outcome belongs to |
| `label` | string | classification: the true class (integers as their decimal text); else null |
| `value` | double | regression: the true value (the first target); else null |
| `observed_at` | timestamp[us, UTC] | when the outcome was reported |
| `source` | string | who reported it (``api`` for the endpoint, or a job's name) |

Files are Parquet, partitioned by the day of ``observed_at``
(``<LABELS_URL>/date=YYYY-MM-DD/*.parquet``). The service's endpoint writes one small file
per request; a team's own job may write files of this schema under the same root (any
name ending in ``.parquet``). A prediction labelled twice keeps its latest label.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from ..adapter import MonitoringSpec

if TYPE_CHECKING:
    import pyarrow as pa

LABEL_FIELDS: Final = ("prediction_id", "label", "value", "observed_at", "source")
MAX_PREDICTION_ID_LENGTH: Final = 256
MAX_SOURCE_LENGTH: Final = 128
SOURCE_CHARACTERS: Final = "[ -~]"
"""Printable ASCII: the one class of characters that a regular expression (the OpenAPI
document's pattern) and the code agree on everywhere."""
_SOURCE: Final = re.compile(f"{SOURCE_CHARACTERS}{{1,{MAX_SOURCE_LENGTH}}}")


class LabelError(ValueError):
    """A reported outcome the labels table cannot take; the message names the item."""


class TooManyLabelsError(LabelError):
    """More labels in one request than the service takes."""


class NoGroundTruthError(LabelError):
    """The model's task has no ground truth to report (an embedding model)."""


class Label(NamedTuple):
    """One true outcome: a class (classification) or a value (regression)."""

    prediction_id: str
    label: str | None
    value: float | None


@dataclass(frozen=True)
class LabelTarget:
    """What a true outcome of the served model is: one of its classes, or a number."""

    classes: tuple[int | str, ...] = ()
    """Classification: the model's classes; empty for a regressor."""

    @classmethod
    def of(cls, monitoring: MonitoringSpec) -> LabelTarget:
        """The target of a model that monitoring describes.

        Raises:
            NoGroundTruthError: the model predicts embeddings.
        """
        if monitoring.class_output is not None:
            return cls(classes=monitoring.classes)
        if monitoring.value_output is not None:
            return cls()
        raise NoGroundTruthError(
            "this model predicts embeddings, which have no true outcome to report; "
            "labels are for classifiers (a class) and regressors (a value)"
        )

    @property
    def field(self) -> str:
        """The body field each item carries its outcome in: ``label`` or ``value``."""
        return "label" if self.classes else "value"


def parse_labels(body: Any, target: LabelTarget, max_items: int) -> list[Label]:
    """The labels of a request body ``{"labels": [{"prediction_id": ..., "label": ...}]}``.

    Raises:
        TooManyLabelsError: more than ``max_items`` items.
        LabelError: the body or an item is malformed; the message names the item.
    """
    if not isinstance(body, dict) or set(body) - {"labels", "source"} or "labels" not in body:
        raise LabelError('the body must be {"labels": [...]} (and optionally "source")')
    items = body["labels"]
    if not isinstance(items, list) or not items:
        raise LabelError("'labels' must be a non-empty list")
    if len(items) > max_items:
        raise TooManyLabelsError(
            f"{len(items)} labels in one request, more than LABELS_MAX_ITEMS={max_items}; "
            "send them in several requests"
        )
    return [_parse_item(item, index, target) for index, item in enumerate(items)]


def parse_source(body: dict[str, Any], default: str) -> str:
    """The body's ``source`` (who reports the labels), or ``default``.

    Raises:
        LabelError: not a short string of printable ASCII characters.
    """
    source = body.get("source", default)
    if not isinstance(source, str) or not _SOURCE.fullmatch(source):
        raise LabelError(f"'source' must be 1 to {MAX_SOURCE_LENGTH} printable ASCII characters")
    return source


def _parse_item(item: Any, index: int, target: LabelTarget) -> Label:
    where = f"labels[{index}]"
    field = target.field
    if not isinstance(item, dict) or set(item) != {"prediction_id", field}:
        raise LabelError(
            f'{where} must be {{"prediction_id": "...", "{field}": ...}} and nothing else '
            f"(this model's outcome is a {'class' if target.classes else 'number'})"
        )
    prediction_id = item["prediction_id"]
    if (
        not isinstance(prediction_id, str)
        or not prediction_id
        or len(prediction_id) > MAX_PREDICTION_ID_LENGTH
    ):
        raise LabelError(
            f"{where}.prediction_id must be a non-empty string of at most "
            f"{MAX_PREDICTION_ID_LENGTH} characters (the id an inference response returned)"
        )
    if target.classes:
        return Label(prediction_id, _class_text(item["label"], target.classes, where), None)
    value = item["value"]
    # bool is an int to Python; a true outcome of True is a mistake, not a number.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LabelError(f"{where}.value must be a finite number")
    return Label(prediction_id, None, float(value))


def _class_text(given: Any, classes: tuple[int | str, ...], where: str) -> str:
    """The class as the labels table stores it (text), if ``given`` is one of ``classes``."""
    for known in classes:
        same_type = isinstance(given, type(known)) and not isinstance(given, bool)
        # An integer class may also come as its decimal text (as the table stores it).
        if (same_type and given == known) or (isinstance(known, int) and given == str(known)):
            return str(known)
    shown = ", ".join(repr(value) for value in classes)
    raise LabelError(f"{where}.label is not one of the model's classes ({shown})")


def labels_table(
    labels: Sequence[Label], source: str, observed_at: float | None = None
) -> pa.Table:
    """``labels`` as rows of the labels table, observed at ``observed_at`` (now by default)."""
    import pyarrow as pa  # noqa: PLC0415 - not needed at start-up

    micros = round((time.time() if observed_at is None else observed_at) * 1_000_000)
    count = len(labels)
    return pa.Table.from_pydict(
        {
            "prediction_id": [item.prediction_id for item in labels],
            "label": [item.label for item in labels],
            "value": [item.value for item in labels],
            "observed_at": pa.array([micros] * count, type=pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "source": [source] * count,
        },
        schema=schema(),
    )


def schema() -> pa.Schema:
    """The Arrow schema of the labels table."""
    import pyarrow as pa  # noqa: PLC0415

    return pa.schema(
        [
            ("prediction_id", pa.string()),
            ("label", pa.string()),
            ("value", pa.float64()),
            ("observed_at", pa.timestamp("us", tz="UTC")),
            ("source", pa.string()),
        ]
    )
