"""Every flaw of the fixture service and the verdict the suite must reach on it.

This table is the proof that each rule can fail: ``tests/test_sync.py`` checks that every
rule ID of the registry appears in ``fails`` or ``warns`` of at least one flaw here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Flaw:
    """One broken variant of the fixture service.

    Attributes:
        name: The ``FLAW`` value (or a Dockerfile/config variant's name).
        kind: ``http`` (in-process, base-URL mode), ``env`` (image with ``ENV FLAW``),
            ``dockerfile`` (derived Dockerfile lines) or ``config`` ([tool.modelrail] change).
        rules: The ``--modelrail-rules`` selection to run.
        fails: Rule IDs that must be reported as failed (exactly these).
        warns: SHOULD rule IDs that must be reported as warnings (exactly these).
        blocked: Rule IDs that must be reported as blocked by another's failure (exactly
            these).
        dockerfile: Extra Dockerfile lines for ``dockerfile`` flaws.
        config: ``[tool.modelrail]`` overrides (dotted keys for sub-tables).
        base: Image to derive from (``dockerfile`` flaws), default the fixture image.
        model: The fixture's model (``FIXTURE_MODEL``): ``tabular``, ``single``, ``text`` or
            ``embedding``.
    """

    name: str
    kind: str
    rules: str
    fails: frozenset[str] = frozenset()
    warns: frozenset[str] = frozenset()
    blocked: frozenset[str] = frozenset()
    dockerfile: str = ""
    config: dict[str, object] = field(default_factory=dict)
    base: str = ""
    model: str = "tabular"

    @property
    def id(self) -> str:
        """The test ID: the flaw's name, prefixed by the model unless it is the default."""
        return self.name if self.model == "tabular" else f"{self.model}-{self.name}"

    @property
    def project_config(self) -> dict[str, object]:
        """``[tool.modelrail]`` overrides: the model's golden files, then ``config``."""
        return {**GOLDEN_FILES.get(self.model, {}), **self.config}


def _golden(directory: str) -> dict[str, object]:
    return {
        "golden_request": f"golden/{directory}/request.json",
        "golden_response": f"golden/{directory}/response.json",
    }


SINGLE_TENSOR = _golden("single")
"""``[tool.modelrail]`` overrides for the fixture's single-tensor model."""
TEXT = _golden("text")
"""For the text classifier. Its golden texts have 3 words and more: a text input."""
EMBEDDING = _golden("embedding")
"""For the embedding model. Its golden embeddings are rounded to 5 decimals, as if made on
another machine: within INF-001's 1e-4 for FP32, not within the project's 1e-6."""
GOLDEN_FILES = {"single": SINGLE_TENSOR, "text": TEXT, "embedding": EMBEDDING}


def _f(
    name: str,
    kind: str,
    rules: str,
    fails: str = "",
    warns: str = "",
    blocked: str = "",
    **kw: object,
) -> Flaw:
    split = lambda text: frozenset(t for t in text.split(",") if t)  # noqa: E731
    return Flaw(
        name,
        kind,
        rules,
        split(fails),
        split(warns),
        split(blocked),
        **kw,  # type: ignore[arg-type]
    )


FAST_LOAD = {"latency.p99_ms": 100, "latency.requests": 60, "latency.warmup_requests": 10}

HTTP_FLAWS = [
    _f("live_runs_model", "http", "HLT", "HLT-002"),
    _f("health_blocked", "http", "HLT-003", "HLT-003"),
    _f("model_ready_any", "http", "RDY", "RDY-002"),
    # The document says GET /v2 answers 200: MD-004 finds the 404 too.
    _f("server_meta_missing", "http", "MD", "MD-001", warns="MD-004"),
    # Requests derived from the metadata cannot be made: blocked by MD-002, not failed.
    _f("bad_metadata", "http", "MD", "MD-002", blocked="MD-004"),
    _f(
        "bad_metadata",
        "http",
        "MD-002,INF-003,INF-004,ERR-002,ERR-005",
        "MD-002",
        blocked="INF-003,INF-004,ERR-002,ERR-005",
    ),
    _f("no_openapi", "http", "MD", warns="MD-003"),
    _f("openapi_untruthful", "http", "MD", warns="MD-004"),
    _f("wrong_answer", "http", "INF", "INF-001"),
    _f("no_id_echo", "http", "INF", "INF-002"),
    _f("crash_on_batch", "http", "INF", "INF-003"),
    _f("unknown_category_500", "http", "INF", "INF-003"),
    _f("classes_swapped", "http", "INF", "INF-001"),
    _f("label_indices", "http", "INF", "INF-001,INF-004"),
    _f("metadata_label_int", "http", "INF", "INF-004"),
    _f("detail_errors", "http", "ERR", "ERR-001,ERR-011"),
    _f(
        "validation_422",
        "http",
        "ERR",
        "ERR-002,ERR-006,ERR-007,ERR-008,ERR-009,ERR-010,ERR-011",
    ),
    _f("bad_input_500", "http", "ERR", "ERR-002,ERR-005,ERR-006"),
    _f("ignore_version", "http", "ERR", "ERR-003"),
    _f("no_405_413", "http", "ERR", warns="ERR-004"),
    _f("nan_passthrough", "http", "ERR", "ERR-005"),
    _f("missing_feature_unnamed", "http", "ERR", "ERR-006"),
    _f("mistyped_feature_unnamed", "http", "ERR", "ERR-007"),
    _f("datatype_not_checked", "http", "ERR", "ERR-002,ERR-007"),
    _f("extra_feature_unnamed", "http", "ERR", "ERR-008"),
    _f("extra_inputs_ignored", "http", "ERR", "ERR-005,ERR-008"),
    _f("ragged_rows_zip", "http", "ERR", "ERR-009"),
    _f("empty_batch_accepted", "http", "ERR", "ERR-010"),
    _f("metrics_missing", "http", "MET-001", "MET-001"),
    _f("metrics_mount", "http", "MET", "MET-001"),
    _f("bad_metric_names", "http", "MET", "MET-002"),
    _f("raw_path_labels", "http", "MET", "MET-003,MET-005"),
    _f("no_model_metrics", "http", "MET", "MET-004"),
    _f("model_name_label_from_url", "http", "MET", "MET-005"),
    _f("no_build_info", "http", "MET", warns="MET-006"),
    _f("slow_infer", "http", "LAT-001", "LAT-001", config=FAST_LOAD),
    _f("flaky", "http", "LAT-002", warns="LAT-002", config=FAST_LOAD),
    _f("metrics_sampled", "http", "LAT-003", warns="LAT-003", config=FAST_LOAD),
    _f("unbounded_queue", "http", "LAT-004", warns="LAT-004", config=FAST_LOAD),
    _f("no_request_id_echo", "http", "LOG-005", "LOG-005"),
    _f("cors_star", "http", "SEC-004", warns="SEC-004"),
    _f("server_banner", "http", "SEC-004", warns="SEC-004"),
    # The single-tensor model (one FP64 input): the flaws whose requests depend on the
    # model's shape. ERR-006 to ERR-009 are not applicable to it.
    _f("wrong_answer", "http", "INF", "INF-001", model="single"),
    _f("crash_on_batch", "http", "INF", "INF-003", model="single"),
    _f("bad_input_500", "http", "ERR", "ERR-002,ERR-005", model="single"),
    _f("nan_passthrough", "http", "ERR", "ERR-005", model="single"),
    _f("datatype_not_checked", "http", "ERR", "ERR-002", model="single"),
    _f("empty_batch_accepted", "http", "ERR-010", "ERR-010", model="single"),
    # The text models (one BYTES input ``text``): the TXT rules, BYTES and FP32 outputs.
    _f("lenient_utf8", "http", "TXT", "TXT-001", model="text"),
    _f("bytes_coerced", "http", "TXT", "TXT-002", model="text"),
    _f("unicode_500", "http", "TXT", "TXT-003", model="text"),
    _f("long_text_500", "http", "TXT", "TXT-004", warns="TXT-005", model="text"),
    _f("no_text_limits", "http", "TXT", warns="TXT-005", model="text"),
    _f("label_numbers", "http", "INF", "INF-001,INF-004", model="text"),
    _f("empty_batch_accepted", "http", "ERR-010", "ERR-010", model="text"),
    _f("embedding_jitter", "http", "INF", "INF-001", model="embedding"),
    _f("squeeze_single_row", "http", "INF", "INF-003", model="embedding"),
    _f("unicode_500", "http", "TXT-003", "TXT-003", model="embedding"),
    _f("lenient_utf8", "http", "TXT-001", "TXT-001"),
    _f("bytes_coerced", "http", "TXT-002", "TXT-002"),
    # The protocol's own statements (profile oip).
    _f("live_missing", "http", "HLT-004", "HLT-004"),
    _f("ready_never", "http", "RDY-006", "RDY-006"),
    _f("model_ready_missing", "http", "RDY", "RDY-002,RDY-007"),
    _f("outputs_refused", "http", "INF", "INF-005"),
    _f("parameters_refused", "http", "INF", "INF-006"),
    _f("nested_refused", "http", "INF", "INF-007", model="single"),
]

CONTAINER_FLAWS = [
    _f("live_tied_to_model", "env", "HLT-001", "HLT-001"),
    _f("ready_always", "env", "RDY-001,RDY-003", "RDY-001"),
    _f("infer_waits_for_model", "env", "RDY-001,RDY-003", "RDY-003"),
    _f("slow_start", "env", "RDY-004", "RDY-004", config={"startup_budget_seconds": 2}),
    _f(
        "swallow_load_error",
        "env",
        "RDY-005",
        warns="RDY-005",
        config={"startup_budget_seconds": 3},
    ),
    _f("plain_logs", "env", "LOG-001", "LOG-001"),
    _f("no_access_log", "env", "LOG-002", "LOG-002"),
    _f("log_payloads", "env", "LOG-003", "LOG-003"),
    _f("log_probes", "env", "LOG-004", warns="LOG-004"),
    _f("write_root_fs", "env", "SEC-002", "SEC-002"),
    _f("abort_inflight", "env", "SHD", "SHD-002", warns="SHD-004"),
    _f("ignore_sigterm", "env", "SHD", "SHD-003", warns="SHD-004"),
    _f("no_drain", "env", "SHD", warns="SHD-004"),
    _f("root_user", "dockerfile", "SEC-001", "SEC-001", dockerfile="USER 0"),
    _f(
        "shell_cmd",
        "dockerfile",
        "SHD-001",
        "SHD-001",
        dockerfile="CMD /opt/venv/bin/python -m fixture_service",
    ),
    _f(
        "missing_labels",
        "dockerfile",
        "IMG-001",
        "IMG-001",
        dockerfile='LABEL org.opencontainers.image.revision=""',
    ),
    _f("no_healthcheck", "dockerfile", "IMG-002", "IMG-002", dockerfile="HEALTHCHECK NONE"),
    _f(
        "latest_base",
        "dockerfile",
        "SEC-003",
        "SEC-003",
        base="modelrail-conformance-fixture:latest",
    ),
    _f(
        "secret_env",
        "dockerfile",
        "SEC-003",
        "SEC-003",
        dockerfile="ENV API_TOKEN=s3cr3t-value-123",
    ),
    _f("oversize", "config", "IMG-003", warns="IMG-003", config={"image_size_budget_mb": 1}),
]

ALL_FLAWS = HTTP_FLAWS + CONTAINER_FLAWS
