"""The suite's verdicts on each peer model server, pinned: every rule not listed passes.

tests/peers/test_peers.py runs the suite against each peer and asserts exactly these
verdicts, and that each message holds its ``cause``; docs/peers.md is generated from them
(``python -m tests.peers.page``). A verdict that changes is then either a regression of the
suite or a change of the peer, found at once: pin the new one here, with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    """What the suite reports on one rule of one peer, and why.

    Attributes:
        status: ``fail``, ``warn``, ``blocked`` or ``not_applicable`` (a pass is not listed).
        cause: A fragment the suite's message holds: what the peer did.
        why: The explanation for docs/peers.md: what the peer does, and what the protocol
            (for an ``oip`` rule, whose text the page quotes) or the platform asks.
    """

    status: str
    cause: str
    why: str


@dataclass(frozen=True)
class Peer:
    """A model server not made from the template, as tests/peers/ builds and configures it."""

    key: str
    """Its directory under tests/peers/ and its image fixture, ``<key>_image``."""
    name: str
    serves: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    def status(self, rule_id: str) -> str:
        """The pinned status of a rule: ``pass`` unless listed."""
        verdict = self.verdicts.get(rule_id)
        return verdict.status if verdict else "pass"


def _na_hook(hook: str, what: str) -> Verdict:
    return Verdict(
        "not_applicable",
        f"needs the service hook {hook}",
        f"The server has no variable that {what}, so its [tool.modelrail] declares no "
        f"`{hook}`: the rule says so instead of failing.",
    )


def _blocked(rule: str) -> Verdict:
    return Verdict(
        "blocked",
        "blocked by MD-002: the model metadata's inputs is []",
        f"{rule} derives its requests from the model metadata, which declares no inputs: "
        "reported once, as MD-002's failure.",
    )


_NO_LOAD_DELAY = "delays the model's load"
_NO_MODEL_URI = "says where the model is (it reads its model-settings.json)"
_METADATA_BLOCKED = (
    "MD-004", "INF-003", "INF-004", "ERR-002", "ERR-005", "ERR-006", "ERR-007", "ERR-008",
    "ERR-009", "TXT-001", "TXT-002", "TXT-003", "TXT-004", "TXT-005",
)  # fmt: skip

_COMMON = {
    "HLT-001": _na_hook("load_delay_env", _NO_LOAD_DELAY),
    "HLT-002": Verdict(
        "not_applicable",
        "/metrics has no model_inference_requests_total",
        "Its metrics have other names, so the inference count the rule watches is not "
        "there (MET-004 reports the names).",
    ),
    "RDY-001": _na_hook("load_delay_env", _NO_LOAD_DELAY),
    "RDY-003": _na_hook("load_delay_env", _NO_LOAD_DELAY),
    "RDY-005": _na_hook("model_uri_env", _NO_MODEL_URI),
    **{rule: _blocked(rule) for rule in _METADATA_BLOCKED},
    "ERR-001": Verdict(
        "fail",
        "received 405 with a JSON object without a non-empty string 'error' (keys: ['detail'])",
        'A wrong method gets FastAPI\'s default body `{"detail": "Method Not Allowed"}`; '
        'the platform asks `{"error": ...}` of every error.',
    ),
    "ERR-004": Verdict(
        "warn",
        "received 422",
        "A body over 1 MiB is read and validated (422) rather than refused for its size "
        "(413): the server sets no body limit.",
    ),
    "ERR-010": Verdict(
        "fail",
        "received 500",
        "A request of zero rows reaches scikit-learn, whose ValueError becomes a 500: the "
        "platform asks a 400 for a client's mistake.",
    ),
    "ERR-011": Verdict(
        "fail",
        "received 422 with a JSON object without a non-empty string 'error' (keys: ['detail'])",
        "Malformed JSON gets FastAPI's validation answer, 422 with "
        '`{"detail": [...]}`: an error status, but not the `{"error": <message>}` body '
        "the protocol requires.",
    ),
    "MET-003": Verdict(
        "fail",
        "http_server_request_duration_seconds of type None",
        "Its HTTP metrics have other names (the platform's dashboards and alerts read "
        "`http_server_request_duration_seconds`).",
    ),
    "MET-004": Verdict(
        "fail",
        "model_inference_requests_total: type None",
        "Its model metrics have other names and labels than the platform's "
        "`model_inference_requests_total{model_name, model_version}`.",
    ),
    "MET-006": Verdict(
        "warn", "no service_build_info", "No build-info gauge with version and revision."
    ),
    "LOG-001": Verdict(
        "fail",
        "received a line that is not a JSON object",
        "Logs are plain text lines, not the platform's JSON lines.",
    ),
    "LOG-002": Verdict(
        "fail",
        "received 0 access records with that request_id",
        "Access lines carry no request id (and are text).",
    ),
    "LOG-005": Verdict(
        "fail",
        "received X-Request-ID None",
        "No `X-Request-ID` in responses: a caller's id is not echoed.",
    ),
    "IMG-001": Verdict(
        "fail",
        "missing or empty: org.opencontainers.image.title",
        "A property of the image as tests/peers builds it (no OCI labels), not of the server.",
    ),
    "IMG-002": Verdict(
        "fail",
        "Healthcheck: received []",
        "A property of the image as tests/peers builds it (no HEALTHCHECK), not of the server.",
    ),
    "SHD-004": Verdict(
        "warn",
        "GET /v2/health/ready during the 1 s after SIGTERM",
        "On SIGTERM it stops listening at once: readiness never says 503 while load "
        "balancers take the replica out.",
    ),
    "LAT-003": Verdict(
        "warn",
        "server count grew by 0",
        "There is no `http_server_request_duration_seconds` to agree with the client's "
        "count (MET-003).",
    ),
}

MLSERVER = Peer(
    key="mlserver",
    name="Seldon MLServer 1.7.1",
    serves=(
        "the iris classifier with its scikit-learn runtime (`mlserver-sklearn` 1.7.1), "
        "installed from PyPI on the project's base image as the bench builds it "
        "(bench/docker/mlserver.Dockerfile); metrics on port 8082"
    ),
    verdicts={
        **_COMMON,
        "MD-002": Verdict(
            "fail",
            "inputs is [], not a non-empty list; outputs is [], not a non-empty list",
            "The scikit-learn runtime declares no tensors unless model-settings.json lists "
            "them: the metadata has empty `inputs` and `outputs`, where the protocol "
            "describes the inputs the model requires and the outputs it produces.",
        ),
        "MET-005": Verdict(
            "fail",
            "model_infer_request_failure_total{model='mr",
            "`model_infer_request_failure_total` takes its `model` label from the URL: "
            "every request for an unknown model name adds a series.",
        ),
        "SHD-002": Verdict(
            "fail",
            "in flight at SIGTERM: received 500",
            "A request in flight at SIGTERM gets a 500 with a traceback (a KeyError in "
            "its parallel dispatcher): the worker pool is torn down before it is answered.",
        ),
    },
)

KSERVE = Peer(
    key="kserve",
    name="KServe 0.21.0 (Python model server)",
    serves=(
        "the iris classifier through a custom `kserve.Model` (tests/peers/kserve/"
        "iris_model.py, kserve's own request and response helpers), installed from PyPI on "
        "the project's base image"
    ),
    verdicts={
        **_COMMON,
        "MD-002": Verdict(
            "fail",
            "versions is None, not a list of strings; inputs is [], not a non-empty list",
            "A custom model declares no tensors: the metadata has empty `inputs` and "
            "`outputs` (and `versions` null, where the protocol has a list of strings or "
            "nothing).",
        ),
        "ERR-003": Verdict(
            "fail",
            "received 501",
            "An unknown version of the model gets 501 `Model versioning not supported "
            "yet.`: the platform asks a 404 for a model or version that is not there.",
        ),
    },
)

PEERS = (MLSERVER, KSERVE)
