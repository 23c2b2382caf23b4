"""`ModelSignature` and `TensorSpec`: the packed form and nullable inputs stay the service's own."""

from __future__ import annotations

from modelrail_runtime import ModelSignature, TensorSpec

PACKED = ModelSignature(
    inputs=(TensorSpec("a", "FP64", (-1,), nullable=True), TensorSpec("b", "FP64", (-1,))),
    outputs=(TensorSpec("y", "FP64", (-1,)),),
    packed=TensorSpec("input-0", "FP64", (-1, 2)),
)


def test_nullable_is_not_part_of_the_protocols_metadata() -> None:
    spec = PACKED.inputs[0]
    assert spec.as_metadata() == {"name": "a", "datatype": "FP64", "shape": [-1]}
    assert TensorSpec.from_metadata(spec.as_metadata()) == TensorSpec("a", "FP64", (-1,))


def test_the_packed_form_is_not_an_input_of_the_metadata() -> None:
    assert [item["name"] for item in PACKED.as_metadata()["inputs"]] == ["a", "b"]
    assert PACKED.input("input-0") is None, "only the whole request may be packed"


def test_an_added_output_keeps_the_inputs_and_the_packed_form() -> None:
    extended = PACKED.with_output(TensorSpec("prediction_id", "BYTES", (-1,)))
    assert extended.inputs == PACKED.inputs
    assert extended.packed == PACKED.packed
    assert extended.output_names() == ("y", "prediction_id")
    assert PACKED.output_names() == ("y",), "the signature itself is unchanged"
