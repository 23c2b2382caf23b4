"""Same predictions: each (b') and (c) answer against its group's (b), row by row."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import agreement, payloads
from bench.agreement import Answer, AnswerError


def body(labels: list[Any], probabilities: list[list[float]], label_type: str = "INT64") -> bytes:
    """An OIP response as the service gives it (prediction ids and all)."""
    rows, classes = len(probabilities), len(probabilities[0])
    outputs = [
        {"name": "label", "shape": [rows], "datatype": label_type, "data": labels},
        {"name": "probabilities", "shape": [rows, classes], "datatype": "FP64",
         "data": [p for row in probabilities for p in row]},
        {"name": "prediction_id", "shape": [rows], "datatype": "BYTES", "data": ["x"] * rows},
    ]  # fmt: skip
    return json.dumps({"model_name": "iris", "outputs": outputs}).encode()


REFERENCE = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]


def test_an_answer_reads_label_and_probabilities_and_leaves_the_rest() -> None:
    answer = agreement.answer_of(body([0, 1, 2], REFERENCE))
    assert answer.labels == (0, 1, 2)
    assert answer.probabilities[1] == (0.1, 0.8, 0.1)
    assert answer.datatypes == ("INT64", "FP64")


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        json.dumps(
            {"outputs": [{"name": "label", "shape": [1], "datatype": "INT64", "data": [0]}]}
        ).encode(),
        json.dumps({"error": "model not ready"}).encode(),
    ],
)
def test_an_answer_without_both_outputs_cannot_be_compared(raw: bytes) -> None:
    with pytest.raises(AnswerError, match="no label and probabilities outputs"):
        agreement.answer_of(raw)


def test_labels_for_other_rows_than_the_probabilities_are_refused() -> None:
    with pytest.raises(AnswerError, match="2 labels and 9 probabilities for shape"):
        agreement.answer_of(body([0, 1], REFERENCE))


def test_identical_answers_agree() -> None:
    same = agreement.answer_of(body([0, 1, 2], REFERENCE))
    diff = agreement.compare(same, same)
    assert (diff.rows, diff.max_abs_diff, diff.label_mismatches) == (3, 0.0, 0)
    assert diff.ok()


def test_float32_rounding_is_within_the_tolerance() -> None:
    rounded = [[p + 4e-8 for p in row] for row in REFERENCE]
    diff = agreement.compare(
        agreement.answer_of(body([0, 1, 2], REFERENCE)),
        agreement.answer_of(body([0, 1, 2], rounded)),
    )
    assert diff.max_abs_diff == pytest.approx(4e-8)
    assert diff.ok()


def test_a_probability_off_by_more_than_the_tolerance_fails_and_names_its_row() -> None:
    off = [row[:] for row in REFERENCE]
    off[2][0] += 2e-6
    diff = agreement.compare(
        agreement.answer_of(body([0, 1, 2], REFERENCE)), agreement.answer_of(body([0, 1, 2], off))
    )
    assert diff.worst_row == 2
    assert diff.max_abs_diff == pytest.approx(2e-6)
    assert not diff.ok()
    assert diff.ok(tolerance=1e-5)


def test_a_different_label_fails_even_with_the_same_probabilities() -> None:
    diff = agreement.compare(
        agreement.answer_of(body([0, 1, 2], REFERENCE)),
        agreement.answer_of(body([0, 2, 2], REFERENCE)),
    )
    assert (diff.label_mismatches, diff.first_mismatch) == (1, 1)
    assert not diff.ok()


def test_a_label_of_another_datatype_fails() -> None:
    diff = agreement.compare(
        agreement.answer_of(body([0, 1, 2], REFERENCE)),
        agreement.answer_of(body([0.0, 1.0, 2.0], REFERENCE, "FP64")),
    )
    assert diff.datatypes == "label FP64 vs INT64"
    assert not diff.ok()


def test_answers_to_other_rows_cannot_be_compared() -> None:
    with pytest.raises(AnswerError, match="2 rows answered, the reference answered 3"):
        agreement.compare(
            agreement.answer_of(body([0, 1, 2], REFERENCE)),
            agreement.answer_of(body([0, 1], REFERENCE[:2])),
        )


def test_answers_to_two_requests_join_in_order() -> None:
    first = agreement.answer_of(body([0], REFERENCE[:1]))
    second = agreement.answer_of(body([1, 2], REFERENCE[1:]))
    assert (first + second) == agreement.answer_of(body([0, 1, 2], REFERENCE))
    with pytest.raises(AnswerError, match="datatypes change"):
        _ = first + Answer((1,), ((0.5, 0.5),), ("BYTES", "FP64"))


def found(**targets: dict[str, Any]) -> dict[str, Any]:
    """An `agreement.agreement` result with the given targets' differences."""
    base = {"reference": "b", "rows": 256, "max_abs_diff": 6e-8, "worst_row": 17,
            "label_mismatches": 0, "first_mismatch": None, "datatypes": None}  # fmt: skip
    return {
        "rows": 256,
        "tolerance": agreement.TOLERANCE,
        "targets": {tid: {**base, **v} for tid, v in targets.items()},
        "errors": {},
    }


def test_the_check_passes_when_every_target_agrees() -> None:
    check = agreement.check(found(c={}, **{"b-onnx": {"max_abs_diff": 0.0, "worst_row": 0}}))
    assert check.status == "PASS"
    assert "c: max |dp| 6.0e-08 (row 17), 0 labels differ" in check.detail
    assert check.detail.endswith("over 256 rows")


@pytest.mark.parametrize(
    ("difference", "shown"),
    [
        ({"max_abs_diff": 3.2e-5, "worst_row": 40}, "max |dp| 3.2e-05 (row 40)"),
        ({"label_mismatches": 2, "first_mismatch": 9}, "2 labels differ (first: row 9)"),
        ({"datatypes": "label FP64 vs INT64"}, "datatypes differ: label FP64 vs INT64"),
    ],
)
def test_the_check_fails_on_any_difference(difference: dict[str, Any], shown: str) -> None:
    check = agreement.check(found(c={}, **{"c-lgbm": {"reference": "b-lgbm", **difference}}))
    assert check.status == "FAIL"
    assert shown in check.detail


def test_a_target_that_could_not_be_compared_fails_the_check() -> None:
    result = found(c={})
    result["errors"]["c-lgbm"] = "b-lgbm is not running: nothing to compare with"
    check = agreement.check(result)
    assert check.status == "FAIL"
    assert "c-lgbm: not compared (b-lgbm is not running" in check.detail


def test_the_check_is_na_when_nothing_was_compared() -> None:
    assert agreement.check({}).status == "N/A"


def test_the_variants_are_compared_in_the_iris_group() -> None:
    iris, lightgbm = agreement.GROUPS
    live = ["b", "c", "c:lean-import", "c-lgbm"]
    assert agreement.targets_of(iris, live) == ["c", "c:lean-import"]
    assert agreement.targets_of(lightgbm, live) == ["c-lgbm"]


def test_agreement_sends_the_same_rows_to_every_target(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: dict[str, list[int]] = {}

    def fake_http(url: str, data: bytes, timeout: float) -> tuple[int, bytes]:
        tensor = json.loads(data)["inputs"][0]
        rows, _ = tensor["shape"]
        sent.setdefault(url, []).append(rows)
        # Class 0 when the first measurement is below 6 cm; (c) rounds like float32.
        shift = 3e-8 if url.endswith("/c") else 0.0
        table = [tensor["data"][i * 4 : i * 4 + 4] for i in range(rows)]
        labels = [0 if row[0] < 6 else 1 for row in table]
        scores = [[0.7 + shift, 0.3 - shift] if y == 0 else [0.4, 0.6] for y in labels]
        return 200, body(labels, scores)

    monkeypatch.setattr(agreement, "http", fake_http)
    live = {tid: f"http://127.0.0.1:1/{tid}" for tid in ("b", "b-onnx", "c")}
    result = agreement.agreement(live)
    assert sent["http://127.0.0.1:1/c"] == [64, 64, 64, 64]
    assert set(result["targets"]) == {"b-onnx", "c"}
    assert result["targets"]["c"]["max_abs_diff"] == pytest.approx(3e-8)
    assert result["errors"] == {}
    assert agreement.check(result).status == "PASS"


def test_agreement_without_the_reference_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agreement, "http", lambda *a, **k: (200, body([0], [[1.0, 0.0]])))
    result = agreement.agreement({"c-lgbm": "http://127.0.0.1:1/c"})
    assert result["errors"] == {"c-lgbm": "b-lgbm is not running: nothing to compare with"}
    assert agreement.agreement({"a": "http://127.0.0.1:1/a"}) == {}


def test_a_target_answering_an_error_is_not_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_http(url: str, data: bytes, timeout: float) -> tuple[int, bytes]:
        if url.endswith("/c"):
            return 422, b'{"error": "input-0: expected FP32"}'
        rows = json.loads(data)["inputs"][0]["shape"][0]
        return 200, body([0] * rows, [[1.0, 0.0, 0.0]] * rows)

    monkeypatch.setattr(agreement, "http", fake_http)
    result = agreement.agreement({t: f"http://127.0.0.1:1/{t}" for t in ("b", "c")})
    assert "answered 422" in result["errors"]["c"]
    assert agreement.check(result).status == "FAIL"


def test_the_rows_are_fixed_distinct_and_start_with_the_measured_ones() -> None:
    rows = payloads.spread_rows(agreement.ROWS)
    assert rows == payloads.spread_rows(agreement.ROWS)
    assert rows[:6] == [list(r) for r in payloads.IRIS_ROWS]
    assert len({tuple(r) for r in rows}) > 250
    for row in rows[6:]:
        for value, (lo, hi) in zip(row, payloads.IRIS_RANGES, strict=True):
            assert lo <= value <= hi
    assert payloads.spread_rows(3, payloads.LIGHTGBM_FEATURES) == payloads.rows(
        3, payloads.LIGHTGBM_FEATURES
    )
