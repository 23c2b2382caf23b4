"""MET: the Prometheus exposition at /metrics."""

from __future__ import annotations

import re
import uuid

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.registry import Level
from modelrail_conformance.rules._support import (
    Exposition,
    curl,
    exchange,
    fetch_metrics,
    model_path,
    rule,
)
from modelrail_conformance.target import Target

HTTP_HISTOGRAM = "http_server_request_duration_seconds"
HTTP_LABELS = ("http_request_method", "http_route", "http_response_status_code")
NON_BASE_UNITS = {
    "milliseconds", "ms", "microseconds", "us", "nanoseconds", "ns", "minutes", "hours",
    "days", "kilobytes", "kb", "megabytes", "mb", "gigabytes", "gb", "percent", "millis",
}  # fmt: skip
MET_REQUESTS = 5


def _metrics_curl(target: Target) -> str:
    return curl("GET", target.metrics_url + "/metrics")


@rule("MET-001", Level.MUST, "/metrics is a 200 in Prometheus text format")
def metrics_endpoint(target: Target) -> None:
    """GET /metrics MUST answer 200 itself (not a redirect) with ``Content-Type`` ``text/plain`` (Prometheus text 0.0.4) or ``application/openmetrics-text``.

    Why:
        Scrapers do not follow redirects by default; a mounted metrics app that redirects
        /metrics to /metrics/ (prometheus/client_python#1016) yields no data at all.

    Checked by:
        GET /metrics without following redirects; status and content type.

    Fix:
        Serve the exposition from a route at exactly /metrics (not a mounted sub-app),
        e.g. returning ``generate_latest()`` with ``CONTENT_TYPE_LATEST``.
    """
    ex = exchange(target.metrics_url, "GET", "/metrics", expected="200 text/plain")
    ctype = ex.response.headers.get("content-type", "")
    ok_type = ctype.startswith("text/plain") or ctype.startswith("application/openmetrics-text")
    if ex.status != 200 or not ok_type or not ex.response.text.strip():
        location = ex.response.headers.get("location")
        received = f"{ex.status} {ctype or 'without Content-Type'}" + (
            f" (Location: {location})" if location else ""
        )
        raise RuleViolation(
            ex.request,
            received,
            "200 text/plain or application/openmetrics-text with a non-empty body",
            reproduce=ex.curl,
        )


def _naming_problems(expo: Exposition) -> list[str]:
    problems = list(expo.problems)
    for family, kind in expo.types.items():
        if not expo.helps.get(family):
            problems.append(f"{family} has no HELP text")
        tokens = set(family.split("_"))
        bad = tokens & NON_BASE_UNITS
        if bad:
            problems.append(
                f"{family} uses {sorted(bad)[0]!r}, not a base unit (seconds, bytes, ratio)"
            )
        if kind == "counter":
            names = {s.name for s in expo.samples if s.name in (family, family + "_total")}
            if any(not n.endswith("_total") for n in names):
                problems.append(f"counter {family} has samples without the _total suffix")
        elif family.endswith("_total"):
            problems.append(f"{family} is a {kind} but ends with _total (only counters may)")
        if kind == "histogram":
            names = {s.name for s in expo.samples}
            for suffix in ("_bucket", "_sum", "_count"):
                if family + suffix not in names and any(
                    s.name.startswith(family) for s in expo.samples
                ):
                    problems.append(f"histogram {family} has no {family}{suffix} series")
    return problems


@rule("MET-002", Level.MUST, "The exposition parses and follows the naming rules")
def metrics_naming(target: Target) -> None:
    """The exposition MUST parse, and every metric MUST follow Prometheus naming: HELP present, base units (seconds, bytes), ``_total`` on counters only, histograms complete.

    Why:
        A page that does not parse is dropped whole by the scraper; inconsistent names
        and units break shared dashboards and alerts across services.

    Checked by:
        Parsing /metrics with prometheus_client's parser and a line-by-line reader, then
        checking HELP, unit tokens (no ``ms``, ``milliseconds``, ``megabytes``...),
        ``_total`` placement and the ``_bucket``/``_sum``/``_count`` series of histograms.

    Fix:
        Create metrics with prometheus_client (it writes valid text) and name them
        ``<namespace>_<what>_<base unit>[_total]`` with a HELP string.
    """
    ex, expo = fetch_metrics(target.metrics_url)
    ctype = ex.response.headers.get("content-type", "")
    try:
        parser = parse_om if ctype.startswith("application/openmetrics-text") else parse_text
        list(parser(ex.response.text))
    except Exception as exc:
        raise RuleViolation(
            "GET /metrics", f"an exposition that does not parse ({exc})",
            "valid Prometheus text", reproduce=_metrics_curl(target),
        ) from exc  # fmt: skip
    problems = _naming_problems(expo)
    if problems:
        raise RuleViolation(
            "GET /metrics",
            "; ".join(problems[:3])
            + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""),
            "Prometheus naming rules",
            reproduce=_metrics_curl(target),
        )


def _route_matches(route: str, path: str) -> bool:
    if "{" not in route:
        return False
    pattern = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(route)) + "$"
    return re.match(pattern, path) is not None


@rule("MET-003", Level.MUST, "HTTP request histogram with templated route labels")
def http_histogram(target: Target) -> None:
    """The service MUST export the histogram ``http_server_request_duration_seconds`` labelled ``http_request_method``, ``http_route`` (the route template, e.g. ``/v2/models/{model_name}``) and ``http_response_status_code``, whose count grows by exactly N after N requests.

    Why:
        These are the OpenTelemetry HTTP server semantic conventions in Prometheus form;
        platform dashboards and SLO alerts query exactly these names, and raw paths as
        labels explode cardinality.

    Checked by:
        Reading /metrics, sending 5 GETs to the model metadata path, and reading /metrics
        again: the series whose method is GET, status 200 and route a template matching
        that path must have grown by exactly 5 in total.

    Fix:
        Record the histogram in middleware after routing, using the matched route's path
        template (an empty string when nothing matched), never ``request.url.path``.
    """
    base = target.base_url
    path = model_path(target.config.model_name)
    _, before = fetch_metrics(target.metrics_url)
    kind = before.types.get(HTTP_HISTOGRAM)
    if kind != "histogram":
        raise RuleViolation(
            "GET /metrics", f"{HTTP_HISTOGRAM} of type {kind!r}", "a histogram",
            reproduce=_metrics_curl(target),
        )  # fmt: skip
    for _ in range(MET_REQUESTS):
        exchange(base, "GET", path, expected="200")
    _, after = fetch_metrics(target.metrics_url)
    name = HTTP_HISTOGRAM + "_count"
    series = [s for s in after.find(name) if s.labels.get("http_request_method") == "GET"]
    missing = [label for label in HTTP_LABELS if series and label not in series[0].labels]
    if not series or missing:
        raise RuleViolation(
            f"GET {path} x{MET_REQUESTS}, then GET /metrics",
            f"{name} series without labels {missing or list(HTTP_LABELS)}",
            f"labels {', '.join(HTTP_LABELS)}",
            reproduce=_metrics_curl(target),
        )
    matching = [
        s
        for s in series
        if s.labels.get("http_response_status_code") == "200"
        and _route_matches(s.labels.get("http_route", ""), path)
    ]
    if not matching:
        routes = sorted({s.labels.get("http_route", "") for s in series})[:6]
        raise RuleViolation(
            f"GET {path} x{MET_REQUESTS}, then GET /metrics",
            f"http_route values {routes}",
            f"a route template such as '/v2/models/{{model_name}}' matching {path}",
            reproduce=_metrics_curl(target),
        )
    keys = {tuple(sorted(s.labels.items())) for s in matching}
    grown = sum(s.value for s in matching) - sum(
        s.value for s in before.find(name) if tuple(sorted(s.labels.items())) in keys
    )
    if grown != MET_REQUESTS:
        raise RuleViolation(
            f"GET {path} x{MET_REQUESTS}, then GET /metrics",
            f"{name}{{http_route={matching[0].labels['http_route']!r}}} grew by {grown:g}",
            f"growth by exactly {MET_REQUESTS}",
            reproduce=_metrics_curl(target),
        )


@rule("MET-004", Level.MUST, "Model inference histogram and counter with model labels")
def model_metrics(target: Target) -> None:
    """The service MUST export the histogram ``model_inference_duration_seconds`` and the counter ``model_inference_requests_total``, labelled ``model_name`` and ``model_version``, each growing by exactly N after N inferences.

    Why:
        Model-level latency and traffic are what model owners alert on, separately from
        HTTP overhead; the labels let one dashboard serve every model.

    Checked by:
        Reading /metrics, sending the golden request 3 times, reading it again: the series
        with ``model_name`` = the configured name must have grown by exactly 3 (counter and
        histogram count), and carry a ``model_version`` label.

    Fix:
        Time the model call itself and record both metrics with the served name and version.
    """
    base = target.base_url
    name = target.config.model_name
    golden = target.config.golden_request_body()
    _, before = fetch_metrics(target.metrics_url)
    for _ in range(3):
        exchange(base, "POST", model_path(name) + "/infer", json_body=golden, expected="200")
    _, after = fetch_metrics(target.metrics_url)
    for metric, kind, sample in (
        ("model_inference_requests_total", "counter", "model_inference_requests_total"),
        ("model_inference_duration_seconds", "histogram", "model_inference_duration_seconds_count"),
    ):
        declared = after.types.get(metric) or after.types.get(metric.removesuffix("_total"))
        series = after.find(sample, model_name=name)
        if declared != kind or not series or "model_version" not in series[0].labels:
            raise RuleViolation(
                f"POST {model_path(name)}/infer x3, then GET /metrics",
                f"{metric}: type {declared!r}, {len(series)} series with model_name={name!r}"
                + (f", labels {sorted(series[0].labels)}" if series else ""),
                f"a {kind} with labels model_name={name!r} and model_version",
                reproduce=_metrics_curl(target),
            )
        grown = after.total(sample, model_name=name) - before.total(sample, model_name=name)
        if grown != 3:
            raise RuleViolation(
                f"POST {model_path(name)}/infer x3, then GET /metrics",
                f"{sample}{{model_name={name!r}}} grew by {grown:g}",
                "growth by exactly 3",
                reproduce=_metrics_curl(target),
            )


def _label_sets(expo: Exposition) -> dict[str, set[tuple[tuple[str, str], ...]]]:
    sets: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for s in expo.samples:
        labels = tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("le", "quantile")))
        sets.setdefault(s.name, set()).add(labels)
    return sets


@rule("MET-005", Level.MUST, "Label cardinality stays bounded")
def bounded_cardinality(target: Target) -> None:
    """Requests to random paths and random model names MUST NOT create label values from the request: no label value may contain the path or the name, and no metric may gain more than 8 series.

    Why:
        Every distinct label value is a new time series; labels copied from URLs let any
        client (or scanner) exhaust the monitoring system's memory.

    Checked by:
        Sending 10 GETs to random paths and 10 metadata GETs plus 10 inference POSTs for
        random model names, then checking every label value of /metrics for the random
        tokens and counting new series per metric.

    Fix:
        Label with route templates (empty string when no route matched) and with the
        served model's configured name, never with values taken from the URL.
    """
    base = target.base_url
    _, before = fetch_metrics(target.metrics_url)
    tokens = [f"mr{uuid.uuid4().hex[:10]}" for _ in range(10)]
    for token in tokens:
        exchange(base, "GET", f"/{token}/x", expected="404")
        exchange(base, "GET", model_path(token), expected="404")
        exchange(
            base, "POST", model_path(token) + "/infer", json_body={"inputs": []}, expected="404"
        )
    _, after = fetch_metrics(target.metrics_url)
    for s in after.samples:
        for key, value in s.labels.items():
            if any(token in value for token in tokens):
                raise RuleViolation(
                    "GET /<random>/x, GET and POST /v2/models/<random>[/infer], then GET /metrics",
                    f"{s.name}{{{key}={value!r}}}",
                    "no label value taken from the request URL",
                    reproduce=_metrics_curl(target),
                )
    old = _label_sets(before)
    for name, sets in _label_sets(after).items():
        grown = len(sets - old.get(name, set()))
        if grown > 8:
            raise RuleViolation(
                "30 requests to random paths and model names, then GET /metrics",
                f"{name} gained {grown} series",
                "at most 8 new series per metric",
                reproduce=_metrics_curl(target),
            )


@rule("MET-006", Level.SHOULD, "A build-info metric with version and revision")
def build_info(target: Target) -> None:
    """The service SHOULD export a gauge ``service_build_info`` with value 1 and non-empty ``version`` and ``revision`` labels.

    Why:
        Joining on build info shows which release and commit produced a latency change or
        an error spike.

    Checked by:
        Looking for a ``service_build_info`` sample with both labels set and value 1.

    Fix:
        Set ``Gauge("service_build_info", ..., ["version", "revision"]).labels(...).set(1)``
        at start-up from the image's version and VCS revision.
    """
    _, expo = fetch_metrics(target.metrics_url)
    for s in expo.find("service_build_info"):
        if s.labels.get("version") and s.labels.get("revision") and s.value == 1:
            return
    found = [f"{s.labels}={s.value:g}" for s in expo.find("service_build_info")]
    raise RuleViolation(
        "GET /metrics",
        f"service_build_info samples {found}" if found else "no service_build_info",
        "service_build_info{version=...,revision=...} 1",
        reproduce=_metrics_curl(target),
    )


RULES = (
    metrics_endpoint,
    metrics_naming,
    http_histogram,
    model_metrics,
    bounded_cardinality,
    build_info,
)
