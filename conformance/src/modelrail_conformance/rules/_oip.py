"""The sections of the Open Inference Protocol's REST text that the ``oip`` rules check.

Each rule of the ``oip`` profile cites one of these: the section's heading (a link into
the specification, ``SpecSection.url``) and the sentence it enforces. The specification:
https://github.com/kserve/open-inference-protocol, ``specification/protocol/inference_rest.md``.
"""

from __future__ import annotations

from modelrail_conformance.registry import SpecSection

SERVER_LIVE = SpecSection(
    "Server Live",
    'The "server live" health API indicates if the inference server is able to receive '
    "and respond to metadata and inference requests.",
)
SERVER_READY = SpecSection(
    "Server Ready",
    'The "server ready" health API indicates if all the models are ready for inferencing.',
)
MODEL_READY = SpecSection(
    "Model Ready",
    'The "model ready" health API indicates if a specific model is ready for inferencing.',
)
SERVER_METADATA = SpecSection(
    "Server Metadata Response JSON Object",
    "A successful server metadata request is indicated by a 200 HTTP status code "
    '(with "name", "version" and "extensions").',
)
MODEL_METADATA = SpecSection(
    "Model Metadata Response JSON Object",
    "A successful model metadata request is indicated by a 200 HTTP status code "
    '(with "name", "platform", "inputs" and "outputs", each tensor with "name", '
    '"datatype" and "shape", variable-size dimensions as -1).',
)
MODEL_INPUTS = SpecSection(
    "Model Metadata Response JSON Object",
    '"inputs": The inputs required by the model. "outputs": The outputs produced by the model.',
)
INFERENCE_REQUEST_ID = SpecSection(
    "Inference Request JSON Object",
    '"id": An identifier for this request. Optional, but if specified this identifier '
    "must be returned in the response.",
)
REQUESTED_OUTPUTS = SpecSection(
    "Inference Request JSON Object",
    '"outputs": The output tensors requested for this inference.',
)
PARAMETERS = SpecSection(
    "Parameters",
    'The $parameters JSON describes zero or more "name"/"value" pairs.',
)
INFERENCE_RESPONSE = SpecSection(
    "Inference Response JSON Object",
    "A successful inference request is indicated by a 200 HTTP status code.",
)
RESPONSE_OUTPUT = SpecSection(
    "Response Output",
    'The $response_output JSON describes an output from the model ("name", "shape", '
    '"datatype", "data").',
)
TENSOR_DATA = SpecSection(
    "Tensor Data",
    "Tensor elements may be presented in their nature multi-dimensional representation, "
    "or as a flattened one-dimensional representation.",
)
ERROR_OBJECT = SpecSection(
    "Inference Response JSON Error Object",
    "A failed inference request must be indicated by an HTTP error status (typically "
    '400). The HTTP body must contain the $inference_error_response object: {"error": '
    "<error message string>}.",
)
