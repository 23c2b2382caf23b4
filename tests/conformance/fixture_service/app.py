"""The fixture service as an ASGI app (see the package docstring)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from fixture_service import openapi
from fixture_service.models import load, model_class
from fixture_service.spec import Spec

MODEL_NAME = "fixture-model"
MODEL_VERSION = "1"
SERVICE_VERSION = "0.1.0"
MAX_BODY = 1_048_576
MAX_IN_FLIGHT = 32
MAX_STRING_BYTES = 16_384
"""Longest BYTES element (UTF-8 bytes): longer ones get 413, as MAX_STRING_BYTES in the runtime."""
MAX_ELEMENTS = 65_536
"""Most elements in one request, all inputs together: more get 413."""
PROBES = {"/v2/health/live", "/v2/health/ready", "/metrics"}

FLAWS = {
    # HTTP level
    "live_runs_model", "health_blocked", "model_ready_any", "server_meta_missing", "bad_metadata",
    "no_openapi", "openapi_untruthful", "wrong_answer", "no_id_echo", "crash_on_batch",
    "detail_errors", "validation_422", "bad_input_500", "ignore_version", "no_405_413", "nan_passthrough",
    "metrics_missing", "metrics_mount", "bad_metric_names", "raw_path_labels",
    "no_model_metrics", "model_name_label_from_url", "no_build_info", "slow_infer", "flaky",
    "metrics_sampled", "unbounded_queue", "no_request_id_echo", "cors_star", "server_banner",
    "missing_feature_unnamed", "mistyped_feature_unnamed", "extra_feature_unnamed",
    "extra_inputs_ignored", "datatype_not_checked", "unknown_category_500", "label_indices",
    "classes_swapped", "metadata_label_int", "ragged_rows_zip", "empty_batch_accepted",
    # HTTP level, text models
    "lenient_utf8", "bytes_coerced", "unicode_500", "long_text_500", "no_text_limits",
    "label_numbers", "embedding_jitter", "squeeze_single_row",
    # HTTP level, the protocol's own statements
    "live_missing", "ready_never", "model_ready_missing", "outputs_refused",
    "parameters_refused", "nested_refused",
    # container level
    "live_tied_to_model", "ready_always", "infer_waits_for_model", "slow_start",
    "swallow_load_error", "plain_logs", "no_access_log", "log_payloads", "log_probes",
    "write_root_fs", "abort_inflight", "ignore_sigterm", "no_drain",
}  # fmt: skip

OIP_DATATYPES = {
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES",
}  # fmt: skip
INT64_RANGE = (-(2**63), 2**63 - 1)

ROUTES: list[tuple[str, tuple[str, ...], str]] = [
    ("/v2/health/live", ("GET",), "live"),
    ("/v2/health/ready", ("GET",), "ready"),
    ("/v2", ("GET",), "server_meta"),
    ("/v2/models/{model_name}", ("GET",), "model_meta"),
    ("/v2/models/{model_name}/versions/{model_version}", ("GET",), "model_meta"),
    ("/v2/models/{model_name}/ready", ("GET",), "model_ready"),
    ("/v2/models/{model_name}/versions/{model_version}/ready", ("GET",), "model_ready"),
    ("/v2/models/{model_name}/infer", ("POST",), "infer"),
    ("/v2/models/{model_name}/versions/{model_version}/infer", ("POST",), "infer"),
    ("/metrics", ("GET",), "metrics"),
    ("/openapi.json", ("GET",), "openapi"),
]
_COMPILED = [
    (re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", t) + "$"), t, m, h)
    for t, m, h in ROUTES
]


class HTTPError(Exception):
    """An error answered as ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the contract's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            "service.name": "fixture-service",
            "service.version": SERVICE_VERSION,
            **getattr(record, "fields", {}),
        }
        return json.dumps(data)


class FixtureApp:
    """The ASGI application."""

    def __init__(
        self,
        flaw: str | None = None,
        *,
        model: str | None = None,
        load_delay: float = 0.0,
        model_uri: str | None = None,
        logger: logging.Logger | None = None,
        on_fatal: Callable[[int], None] | None = None,
    ) -> None:
        if flaw and flaw not in FLAWS:
            raise ValueError(f"unknown FLAW {flaw!r}; known: {sorted(FLAWS)}")
        self.flaw = flaw or ""
        self.model_class = model_class(model)
        self.load_delay = load_delay
        self.model_uri = model_uri or str(self.model_class.default_file)
        self.log = logger or logging.getLogger(f"fixture.{id(self)}")
        self.on_fatal = on_fatal or (lambda code: os._exit(code))
        self.model: Any = None
        self.draining = False
        self.in_flight = 0
        self.lock: asyncio.Lock | None = None
        self.counter = 0
        self.registry = CollectorRegistry()
        self.http_hist = Histogram(
            "http_server_request_duration_seconds", "Duration of HTTP server requests.",
            ["http_request_method", "http_route", "http_response_status_code"], registry=self.registry,
        )  # fmt: skip
        self.model_hist = Histogram(
            "model_inference_duration_seconds", "Duration of model inference.",
            ["model_name", "model_version"], registry=self.registry,
        )  # fmt: skip
        self.model_count = Counter(
            "model_inference_requests", "Model inference requests.",
            ["model_name", "model_version"], registry=self.registry,
        )  # fmt: skip
        if self.flaw != "no_build_info":
            info = Gauge(
                "service_build_info",
                "Build information.",
                ["version", "revision"],
                registry=self.registry,
            )
            info.labels(SERVICE_VERSION, "abc1234").set(1)
        if self.flaw == "bad_metric_names":
            Gauge("model_queue_latency_ms", "Queue latency.", registry=self.registry).set(1)

    # --- lifecycle ---------------------------------------------------------------------
    async def _load(self) -> None:
        if self.load_delay:
            await asyncio.sleep(self.load_delay)
        try:
            self.model = load(self.model_class, self.model_uri)
            self.log.info("model loaded", extra={"fields": {"model.uri": self.model_uri}})
        except Exception as exc:
            self.log.error("model failed to load", extra={"fields": {"error": str(exc)}})
            if self.flaw != "swallow_load_error":
                await asyncio.sleep(0.1)
                self.on_fatal(1)

    async def lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.lock = asyncio.Lock()
                if self.flaw == "slow_start":
                    await asyncio.sleep(4)
                if self.flaw == "write_root_fs":
                    Path("/app/cache").mkdir(exist_ok=True)
                    Path("/app/cache/warm.json").write_text("{}")
                self._load_task = asyncio.create_task(self._load())
                if not self.load_delay:
                    await self._load_task
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- ASGI --------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        method, path = scope["method"], scope["path"]
        route, handler, params, allowed = "", None, {}, ()
        for pattern, template, methods, name in _COMPILED:
            match = pattern.match(path)
            if match:
                route, params, allowed = template, match.groupdict(), methods
                handler = getattr(self, "h_" + name) if method in methods else None
                break
        if self.flaw == "metrics_mount" and path == "/metrics":
            route, handler = "", None
            status, body, extra = 307, b"", {"location": "/metrics/"}
        elif self.flaw == "metrics_missing" and path in ("/metrics", "/metrics/"):
            status, body, extra = 404, json.dumps({"error": "not found"}).encode(), {}
            route = ""
        elif self.flaw == "metrics_mount" and path == "/metrics/":
            status, body, extra = (
                200,
                generate_latest(self.registry),
                {"content-type": CONTENT_TYPE_LATEST},
            )
        else:
            try:
                if handler is None:
                    if route and self.flaw != "no_405_413":
                        raise HTTPError(
                            405, f"method {method} not allowed", {"allow": ", ".join(allowed)}
                        )
                    raise HTTPError(404, f"no route for {path}")
                status, payload, extra = await handler(scope, receive, headers, params)
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                if not isinstance(payload, bytes):
                    extra.setdefault("content-type", "application/json")
            except HTTPError as exc:
                status, extra = exc.status, dict(exc.headers)
                key = "detail" if self.flaw == "detail_errors" else "error"
                payload = {key: str(exc)}
                if exc.status == 422:  # FastAPI's default validation error shape
                    payload = {
                        "detail": [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]
                    }
                body, extra["content-type"] = json.dumps(payload).encode(), "application/json"
            except Exception as exc:  # the contract's catch-all: 500 with an error body
                self.log.error("unhandled error", extra={"fields": {"error": repr(exc)}})
                status, extra = 500, {"content-type": "application/json"}
                body = json.dumps({"error": "internal error"}).encode()
        out = [(k.encode(), v.encode()) for k, v in extra.items()]
        if self.flaw != "no_request_id_echo":
            out.append((b"x-request-id", request_id.encode()))
        if self.flaw == "cors_star":
            out.append((b"access-control-allow-origin", b"*"))
        if self.flaw == "server_banner":
            out.append((b"server", b"fixture/0.1.0 Python/3.11"))
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})
        seconds = time.perf_counter() - started
        label_route = path if self.flaw == "raw_path_labels" else route
        self.counter += 1
        if not (self.flaw == "metrics_sampled" and self.counter % 2):
            self.http_hist.labels(method, label_route, str(status)).observe(seconds)
        logged = self.flaw == "log_probes" or path not in PROBES
        if logged and self.flaw != "no_access_log":
            fields = {
                "type": "access", "request_id": request_id, "http.request.method": method,
                "url.path": path, "http.route": route, "http.response.status_code": status,
                "duration_ms": round(seconds * 1000, 3),
            }  # fmt: skip
            self.log.info("request", extra={"fields": fields})

    async def _body(self, receive: Any, headers: dict[str, str]) -> bytes:
        limit = None if self.flaw == "no_405_413" else MAX_BODY
        if limit and int(headers.get("content-length") or 0) > limit:
            raise HTTPError(413, f"body larger than {limit} bytes")
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if limit and size > limit:
                raise HTTPError(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    # --- handlers ----------------------------------------------------------------------
    async def h_live(self, scope: Any, receive: Any, headers: Any, params: Any) -> Any:
        if self.flaw == "live_missing":
            raise HTTPError(404, "not found")
        if self.flaw == "live_tied_to_model" and self.model is None:
            raise HTTPError(503, "model not loaded")
        if self.flaw == "live_runs_model" and self.model is not None:
            self._run(self.model.example(), 1)
        return 200, {"live": True}, {}

    async def h_ready(self, scope: Any, receive: Any, headers: Any, params: Any) -> Any:
        if self.flaw == "ready_never":
            raise HTTPError(503, "model not loaded")
        if self.flaw != "ready_always" and (self.model is None or self.draining):
            raise HTTPError(503, "draining" if self.draining else "model not loaded")
        return 200, {"ready": True}, {}

    async def h_server_meta(self, scope: Any, receive: Any, headers: Any, params: Any) -> Any:
        if self.flaw == "server_meta_missing":
            raise HTTPError(404, "not found")
        return 200, {"name": "fixture-service", "version": SERVICE_VERSION, "extensions": []}, {}

    def _check_model(self, params: dict[str, str]) -> None:
        if params.get("model_name") != MODEL_NAME:
            raise HTTPError(404, f"unknown model {params.get('model_name')!r}")
        version = params.get("model_version")
        if version is not None and version != MODEL_VERSION and self.flaw != "ignore_version":
            raise HTTPError(404, f"unknown version {version!r}")

    async def h_model_meta(self, scope: Any, receive: Any, headers: Any, params: Any) -> Any:
        self._check_model(params)
        cls = self.model_class
        meta = {
            "name": MODEL_NAME,
            "versions": [MODEL_VERSION],
            "platform": cls.platform,
            "inputs": [spec.metadata() for spec in cls.inputs],
            "outputs": cls.outputs(self.flaw),
        }
        if self.flaw == "bad_metadata":
            meta["inputs"][0].update(datatype="float64", shape="4")
        return 200, meta, {}

    async def h_model_ready(self, scope: Any, receive: Any, headers: Any, params: Any) -> Any:
        if self.flaw == "model_ready_missing":
            raise HTTPError(404, f"unknown model {params.get('model_name')!r}")
        if self.flaw != "model_ready_any":
            self._check_model(params)
        if self.model is None:
            raise HTTPError(503, "model not loaded")
        return 200, {"name": params["model_name"], "ready": True}, {}

    async def h_metrics(self, scope: Any, receive: Any, headers: Any, params: Any) -> Any:
        return 200, generate_latest(self.registry), {"content-type": CONTENT_TYPE_LATEST}

    async def h_openapi(self, scope: Any, receive: Any, headers: Any, params: Any) -> Any:
        if self.flaw == "no_openapi":
            raise HTTPError(404, "not found")
        return (
            200,
            openapi.document(
                model=MODEL_NAME,
                version=MODEL_VERSION,
                service_version=SERVICE_VERSION,
                inputs=self.model_class.inputs,
                flaw=self.flaw,
            ),
            {},
        )

    def _run(self, columns: dict[str, list[Any]], rows: int) -> list[list[float]]:
        started = time.perf_counter()
        assert self.model is not None
        probs = self.model.predict(columns, rows, self.flaw)
        if self.flaw != "no_model_metrics":
            self.model_hist.labels(MODEL_NAME, MODEL_VERSION).observe(time.perf_counter() - started)
            self.model_count.labels(MODEL_NAME, MODEL_VERSION).inc()
        return probs

    def _invalid(self, message: str) -> HTTPError:
        if self.flaw == "validation_422":
            return HTTPError(422, message)
        return HTTPError(400, message)

    def _parse(self, raw: bytes) -> tuple[dict[str, Any], dict[str, list[Any]], int]:
        """Validate a request against the metadata: (body, values by input, rows)."""

        def reject(token: str) -> float:
            if self.flaw == "nan_passthrough":
                return float(token)
            raise ValueError(f"non-finite number {token}")

        try:
            # lenient_utf8 decodes as some frameworks do: bytes that are not
            # UTF-8 become lone surrogates, which the model's tokenizer then chokes on.
            text = raw.decode("utf-8", "surrogateescape") if self.flaw == "lenient_utf8" else raw
            body = json.loads(text, parse_constant=reject)
        except (ValueError, RecursionError) as exc:
            raise self._invalid(f"malformed JSON: {str(exc)[:80]}") from None
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
            raise self._invalid("the body must be an object with an 'inputs' list")
        specs = self.model_class.inputs
        if self.flaw == "bad_input_500":
            for spec in specs:  # StopIteration (a missing input), TypeError (not an object) -> 500
                next(t for t in body["inputs"] if t["name"] == spec.name)
        tensors = self._match(body["inputs"], specs)
        self._check_elements(tensors.values())
        columns: dict[str, list[Any]] = {}
        sizes = set()
        for spec in specs:
            rows, columns[spec.name] = self._tensor(tensors[spec.name], spec)
            sizes.add(rows)
        if self.flaw == "ragged_rows_zip":
            return body, columns, min(sizes)  # pairs rows up as zip() does
        if len(sizes) != 1:
            raise self._invalid(f"the inputs have different batch sizes: {sorted(sizes)}")
        return body, columns, sizes.pop()

    def _match(self, inputs: list[Any], specs: tuple[Spec, ...]) -> dict[str, dict[str, Any]]:
        """The request's tensor for each declared input; 400 for unknown, repeated, missing."""
        declared = [spec.name for spec in specs]
        found: dict[str, dict[str, Any]] = {}
        for tensor in inputs:
            if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
                raise self._invalid("each input must be an object with a string 'name'")
            name = tensor["name"]
            if name not in declared:
                if self.flaw == "extra_inputs_ignored":
                    continue
                if self.flaw == "extra_feature_unnamed":
                    raise self._invalid("unexpected extra inputs")
                raise self._invalid(
                    f"unknown input {name[:64]!r}; this model takes {', '.join(map(repr, declared))}"
                )
            if name in found:
                raise self._invalid(f"input {name!r} appears more than once")
            found[name] = tensor
        missing = [name for name in declared if name not in found]
        if missing:
            if self.flaw == "missing_feature_unnamed":
                raise self._invalid("a required input is missing")
            raise self._invalid("missing input(s): " + ", ".join(map(repr, missing)))
        return found

    @property
    def _text_limits(self) -> bool:
        return self.flaw not in ("no_text_limits", "long_text_500")

    def _check_elements(self, tensors: Any) -> None:
        """413 for more than MAX_ELEMENTS elements, counted from the shapes (cheap)."""
        total = 0
        for tensor in tensors:
            shape = tensor.get("shape")
            if isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape):
                total += math.prod(shape)
        if total > MAX_ELEMENTS and self._text_limits:
            raise HTTPError(
                413, f"the request has {total} elements, more than the {MAX_ELEMENTS} allowed"
            )

    def _text(self, x: str, where: str) -> str:
        """A BYTES element: valid Unicode (no lone surrogates), at most MAX_STRING_BYTES."""
        try:
            size = len(x.encode("utf-8"))
        except UnicodeEncodeError:
            if self.flaw != "lenient_utf8":
                raise self._invalid(f"{where}: a string is not valid Unicode text") from None
            size = len(x.encode("utf-8", "surrogatepass"))
        if size > MAX_STRING_BYTES and self._text_limits:
            raise HTTPError(
                413, f"{where}: a string of {size} bytes, more than the {MAX_STRING_BYTES} allowed"
            )
        return x

    def _tensor(self, tensor: dict[str, Any], spec: Spec) -> tuple[int, list[Any]]:
        """(rows, flat values) of one input, checked against its spec."""
        where = f"input {spec.name!r}"
        datatype = tensor.get("datatype")
        # The datatype_not_checked flaw takes any OIP datatype and casts the data.
        coerce = (
            self.flaw == "datatype_not_checked"
            and datatype != spec.datatype
            and datatype in OIP_DATATYPES
        )
        if datatype != spec.datatype and not coerce:
            if self.flaw == "mistyped_feature_unnamed":
                raise self._invalid("an input has the wrong datatype")
            raise self._invalid(f"{where}: datatype must be {spec.datatype}, not {datatype!r:.40}")
        shape, data = tensor.get("shape"), tensor.get("data")
        wanted = "[" + ", ".join("N" if d == -1 else str(d) for d in spec.shape) + "]"
        least = 0 if self.flaw == "empty_batch_accepted" else 1
        if (
            not isinstance(shape, list) or len(shape) != len(spec.shape)
            or not all(type(d) is int and d >= least and s in (-1, d) for d, s in zip(shape, spec.shape, strict=True))
        ):  # fmt: skip
            raise self._invalid(f"{where}: shape must be {wanted} with N >= 1, not {shape!r:.40}")
        flat = data if isinstance(data, list) else None
        if flat and any(isinstance(x, list) for x in flat):
            flat = _nested(flat, shape)
        if flat is None or len(flat) != math.prod(shape):
            raise self._invalid(f"{where}: data does not match the shape {shape}")
        convert = self._coerce if coerce else self._element
        return shape[0], [convert(x, spec, where) for x in flat]

    def _element(self, x: Any, spec: Spec, where: str) -> Any:
        datatype = spec.datatype
        if isinstance(x, float) and not math.isfinite(x) and datatype != "BYTES":
            if self.flaw == "nan_passthrough":
                return x
            raise self._invalid(f"{where}: data must be finite numbers")
        if datatype == "FP64":
            if x is None and spec.nullable:
                return None
            if isinstance(x, bool) or not isinstance(x, int | float):
                raise self._invalid(f"{where}: data must be numbers")
            return float(x)
        if datatype == "INT64":
            if type(x) is float and x.is_integer() and abs(x) <= 2**53:
                x = int(x)  # a whole-number float is an integer (JSON Schema's `integer`)
            if isinstance(x, bool) or not isinstance(x, int):
                raise self._invalid(f"{where}: data must be integers")
            if not INT64_RANGE[0] <= x <= INT64_RANGE[1]:
                raise self._invalid(f"{where}: {x} is out of range for INT64")
            return x
        if datatype == "BOOL" and not isinstance(x, bool):
            raise self._invalid(f"{where}: data must be booleans")
        if datatype == "BYTES":
            if isinstance(x, str):
                return self._text(x, where)
            if self.flaw == "bytes_coerced":
                return str(x)
            raise self._invalid(f"{where}: data must be strings (BYTES)")
        return x

    def _coerce(self, x: Any, spec: Spec, where: str) -> Any:
        """The datatype_not_checked flaw: cast whatever came to the declared type."""
        try:
            if spec.datatype == "BYTES":
                return str(x)
            if spec.datatype == "BOOL":
                return x if isinstance(x, bool) else str(x).lower() in ("true", "1")
            value = float(x)
            if not math.isfinite(value):
                raise ValueError(value)
            return int(value) if spec.datatype == "INT64" else value
        except (TypeError, ValueError):
            raise self._invalid(f"{where}: cannot read {x!r:.40} as {spec.datatype}") from None

    def _refuse_optional_fields(self, body: dict[str, Any]) -> None:
        """The protocol's optional fields, refused by the flaws that refuse them."""
        inputs = body.get("inputs") or []
        if self.flaw == "outputs_refused" and "outputs" in body:
            raise HTTPError(400, "'outputs' is not supported")
        parameters = "parameters" in body or any("parameters" in item for item in inputs)
        if self.flaw == "parameters_refused" and parameters:
            raise HTTPError(400, "'parameters' is not supported")
        nested = any(isinstance(value, list) for item in inputs for value in item["data"])
        if self.flaw == "nested_refused" and nested:
            raise HTTPError(400, "'data' must be flat")

    async def h_infer(self, scope: Any, receive: Any, headers: Any, params: Any) -> Any:
        if self.flaw == "model_name_label_from_url":
            self.model_count.labels(params["model_name"], MODEL_VERSION)
        self._check_model(params)
        raw = await self._body(receive, headers)
        if self.model is None:
            if self.flaw == "infer_waits_for_model":
                while self.model is None:
                    await asyncio.sleep(0.05)
            else:
                raise HTTPError(503, "model not loaded")
        if self.flaw == "log_payloads":
            self.log.info(
                "infer request", extra={"fields": {"body": raw.decode("utf-8", "replace")}}
            )
        if self.in_flight >= MAX_IN_FLIGHT and self.flaw != "unbounded_queue":
            raise HTTPError(503, "overloaded", {"retry-after": "1"})
        self.in_flight += 1
        try:
            body, columns, rows = self._parse(raw)
            self._refuse_optional_fields(body)
            if self.flaw == "crash_on_batch" and rows >= 3:
                raise RuntimeError("batch too large for the model")
            if self.flaw == "health_blocked":
                time.sleep(0.3)  # blocks the event loop
            if self.flaw == "slow_infer":
                await asyncio.sleep(0.15)
            if self.flaw == "flaky" and self.counter % 10 == 0:
                raise RuntimeError("flaky")
            if self.flaw == "unbounded_queue":
                assert self.lock is not None
                async with self.lock:
                    await asyncio.sleep(0.06)
            probs = self._run(columns, rows)
        finally:
            self.in_flight -= 1
        if self.flaw == "wrong_answer":
            probs = [[p + 0.01 for p in row] for row in probs]
        response = {
            "model_name": MODEL_NAME,
            "model_version": MODEL_VERSION,
            "outputs": self.model.response(probs, self.flaw),
        }
        if "id" in body and self.flaw != "no_id_echo":
            response["id"] = body["id"]
        return 200, response, {}


def _nested(data: list[Any], shape: list[int]) -> list[Any] | None:
    """Nested data flattened, row-major; None unless it nests exactly as ``shape`` says."""
    if not shape:
        return None
    if len(data) != shape[0]:
        return None
    if len(shape) == 1:
        return None if any(isinstance(x, list) for x in data) else data
    flat: list[Any] = []
    for row in data:
        part = _nested(row, shape[1:]) if isinstance(row, list) else None
        if part is None:
            return None
        flat.extend(part)
    return flat


def json_logger(name: str, stream: Any = None) -> logging.Logger:
    """A logger writing JSON lines to stdout."""
    logger = logging.getLogger(name)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger
