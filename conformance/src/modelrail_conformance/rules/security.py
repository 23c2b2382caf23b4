"""SEC and IMG: the image's configuration and the hardened runtime."""

from __future__ import annotations

import re
import uuid
from typing import Any

from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.registry import Level
from modelrail_conformance.rules._support import exchange, model_path, rule
from modelrail_conformance.target import HttpStatusWait, Target

OCI_LABELS = ("title", "version", "revision", "source", "created", "licenses")
SECRET_NAME = re.compile(
    r"(passw(or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)", re.I
)
SECRET_VALUE = re.compile(
    r"(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|gh[pousr]_[A-Za-z0-9]{20,}|xox[bpas]-)"
)
# Names that look secret but hold a reference, not a value (e.g. a path to a mounted file).
REFERENCE_SUFFIXES = ("_FILE", "_PATH", "_ENV", "_NAME")


def _config(target: Target) -> dict[str, Any]:
    return target.image_attrs().get("Config") or {}


def _inspect(target: Target, fmt: str) -> str:
    return f"docker image inspect {target.image} --format '{fmt}'"


@rule("SEC-001", Level.MUST, "Runs as a numeric non-root USER", needs_container=True)
def non_root_user(target: Target) -> None:
    """The image MUST declare a numeric, non-zero ``USER`` (e.g. ``USER 10001``).

    Why:
        A root process turns any code-execution bug into control of the container;
        Kubernetes ``runAsNonRoot`` can only verify a numeric user.

    Checked by:
        ``Config.User`` of the image: its user part must be digits and not 0.

    Fix:
        Create a system user with a fixed UID in the Dockerfile and end with
        ``USER 10001:10001``.
    """
    user = (_config(target).get("User") or "").strip()
    uid = user.split(":", 1)[0]
    if not uid.isdigit() or int(uid) == 0:
        raise RuleViolation(
            "image config User",
            repr(user) if user else "no USER (root)",
            "a numeric non-zero UID",
            reproduce=_inspect(target, "{{.Config.User}}"),
        )


@rule(
    "SEC-002",
    Level.MUST,
    "Works read-only, without capabilities or privilege gain",
    needs_container=True,
)
def hardened_runtime(target: Target) -> None:
    """The service MUST start and serve inference with all capabilities dropped, ``no-new-privileges``, and a read-only root filesystem with a tmpfs at /tmp.

    Why:
        The platform runs every pod with this security context; a service that writes to
        its image or needs a capability fails only in production.

    Checked by:
        Starting a container of its own with ``--read-only --tmpfs /tmp --cap-drop ALL
        --security-opt no-new-privileges``; it must be ready within the start-up budget
        (+30 s) and answer the golden request with 200.

    Fix:
        Write only to /tmp (set caches and temp dirs there), bind a port above 1024, and
        need no capabilities.
    """
    config = target.config
    with target.extra_container("hardened", hardened=True) as container:
        try:
            HttpStatusWait("/v2/health/ready", timeout=config.startup_budget_seconds + 30).wait(
                container
            )
        except Exception as exc:
            raise RuleViolation(
                "start with --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges",
                f"not ready: {exc}",
                "ready within the start-up budget",
                reproduce=f"docker run --rm --read-only --tmpfs /tmp --cap-drop ALL "
                f"--security-opt no-new-privileges {target.image}",
            ) from exc
        ex = exchange(
            container.base_url, "POST", model_path(config.model_name) + "/infer",
            json_body=config.golden_request_body(), expected="200",
        )  # fmt: skip
        if ex.status != 200:
            raise RuleViolation(
                "golden request to the hardened container", ex.describe(), "200", reproduce=ex.curl
            )


def _from_lines(dockerfile: str, build_args: dict[str, str]) -> list[str]:
    args: dict[str, str] = {}
    refs: list[str] = []
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if line.upper().startswith("ARG "):
            name, _, default = line[4:].strip().partition("=")
            args[name.strip()] = build_args.get(name.strip(), default.strip().strip('"'))
        elif line.upper().startswith("FROM "):
            parts = [p for p in line[5:].split() if not p.startswith("--")]
            ref = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), parts[0])
            refs.append(ref)
    return refs


def _is_floating(ref: str) -> bool:
    if not ref or ref == "scratch" or "@sha256:" in ref:
        return False
    last = ref.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


@rule(
    "SEC-003", Level.MUST, "No secrets in ENV or labels, no latest base tag", needs_container=True
)
def no_secrets(target: Target) -> None:
    """The image MUST NOT carry secret-looking values in ``ENV`` or labels, and MUST NOT be built on a ``latest`` (or untagged) base image.

    Why:
        Everything in ``ENV`` and labels is readable by anyone who can pull the image; a
        floating base tag makes builds unreproducible and silently changes what runs.

    Checked by:
        Scanning ``Config.Env`` and ``Config.Labels`` for secret-like names with values
        (password, token, api key...) and secret-like values (cloud keys, private keys),
        and checking the base: the Dockerfile's ``FROM`` lines (when the suite builds it,
        build arguments resolved) and the ``org.opencontainers.image.base.name`` label.

    Fix:
        Pass secrets at run time (mounted files or the orchestrator's secrets) and pin
        the base image to a version tag or digest.
    """
    config = _config(target)
    pairs = [tuple(e.split("=", 1)) if "=" in e else (e, "") for e in config.get("Env") or []]
    pairs += list((config.get("Labels") or {}).items())
    for name, value in pairs:
        looks_secret = (
            SECRET_NAME.search(name) and value and not name.upper().endswith(REFERENCE_SUFFIXES)
        )
        if looks_secret or SECRET_VALUE.search(value or ""):
            raise RuleViolation(
                "image config Env and Labels",
                f"{name}=<{len(value)} characters, not shown>",
                "no secret-looking names or values",
                reproduce=_inspect(target, "{{json .Config.Env}} {{json .Config.Labels}}"),
            )
    bases = _from_lines(target.dockerfile_text() or "", target.spec.build_args)
    label = (config.get("Labels") or {}).get("org.opencontainers.image.base.name")
    if label:
        bases.append(label)
    for ref in bases:
        if _is_floating(ref):
            raise RuleViolation(
                "base image",
                f"{ref!r}",
                "a base pinned to a version tag or digest (not latest or untagged)",
                reproduce=f"grep -n '^FROM' {target.spec.dockerfile or 'Dockerfile'}",
            )


@rule("SEC-004", Level.SHOULD, "No version banner, CORS off by default")
def banner_and_cors(target: Target) -> None:
    """Responses SHOULD NOT reveal software versions in a ``Server`` header, and cross-origin requests SHOULD NOT be allowed by default.

    Why:
        Version banners help attackers pick exploits; a default ``Access-Control-Allow-Origin``
        lets any web page call the model with a visitor's credentials and network position.

    Checked by:
        Checking the ``Server`` header of the golden inference for digits, then sending a
        preflight ``OPTIONS`` and a ``GET`` with ``Origin: https://example.invalid``: neither
        may return ``Access-Control-Allow-Origin``.

    Fix:
        Disable the server header (uvicorn ``--no-server-header``) and add CORS middleware
        only with an explicit allow-list from configuration.
    """
    base = target.base_url
    path = model_path(target.config.model_name)
    ex = exchange(base, "GET", path, expected="200")
    server = ex.response.headers.get("server", "")
    if re.search(r"\d", server):
        raise RuleViolation(
            ex.request, f"Server: {server}", "no version in a Server header", reproduce=ex.curl
        )
    origin = f"https://{uuid.uuid4().hex[:6]}.example.invalid"
    for method, headers in (
        ("OPTIONS", {"Origin": origin, "Access-Control-Request-Method": "POST"}),
        ("GET", {"Origin": origin}),
    ):
        ex = exchange(
            base, method, path + ("/infer" if method == "OPTIONS" else ""), headers=headers
        )
        allowed = ex.response.headers.get("access-control-allow-origin")
        if allowed:
            raise RuleViolation(
                f"{ex.request} with Origin: {origin}",
                f"Access-Control-Allow-Origin: {allowed}",
                "no CORS headers by default",
                reproduce=ex.curl,
            )


@rule(
    "IMG-001",
    Level.MUST,
    "OCI labels title, version, revision, source, created, licenses",
    needs_container=True,
)
def oci_labels(target: Target) -> None:
    """The image MUST carry non-empty OCI labels ``org.opencontainers.image.`` title, version, revision, source, created and licenses.

    Why:
        Registries, scanners and the platform inventory trace a running image back to its
        source, commit and licence through these labels.

    Checked by:
        ``Config.Labels`` of the image.

    Fix:
        Set them with ``LABEL`` in the Dockerfile from build arguments (version, VCS ref,
        build date) filled in by the build.
    """
    labels = _config(target).get("Labels") or {}
    missing = [
        n for n in OCI_LABELS if not str(labels.get(f"org.opencontainers.image.{n}", "")).strip()
    ]
    if missing:
        raise RuleViolation(
            "image config Labels",
            f"missing or empty: {', '.join('org.opencontainers.image.' + m for m in missing)}",
            "all six OCI labels non-empty",
            reproduce=_inspect(target, "{{json .Config.Labels}}"),
        )


@rule("IMG-002", Level.MUST, "EXPOSE and HEALTHCHECK present", needs_container=True)
def expose_and_healthcheck(target: Target) -> None:
    """The image MUST ``EXPOSE`` the service port and define a ``HEALTHCHECK``.

    Why:
        EXPOSE documents the port for tooling; HEALTHCHECK lets plain Docker and Compose
        users see a wedged service.

    Checked by:
        ``Config.ExposedPorts`` must include ``<port>/tcp``; ``Config.Healthcheck.Test``
        must be set and not ``NONE``.

    Fix:
        Add ``EXPOSE 8080`` and a ``HEALTHCHECK`` that calls /v2/health/live with the
        image's own Python (no curl needed).
    """
    config = _config(target)
    port = f"{target.config.port}/tcp"
    if port not in (config.get("ExposedPorts") or {}):
        raise RuleViolation(
            "image config ExposedPorts", f"{sorted(config.get('ExposedPorts') or {})}",
            f"{port} exposed", reproduce=_inspect(target, "{{json .Config.ExposedPorts}}"),
        )  # fmt: skip
    test = (config.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        raise RuleViolation(
            "image config Healthcheck", f"{test!r}", "a HEALTHCHECK command",
            reproduce=_inspect(target, "{{json .Config.Healthcheck}}"),
        )  # fmt: skip


@rule("IMG-003", Level.SHOULD, "Image size within the budget", needs_container=True)
def image_size(target: Target) -> None:
    """The image SHOULD be no larger than ``image_size_budget_mb`` megabytes.

    Why:
        Large images slow down scaling and rollouts on every node that pulls them.

    Checked by:
        The image's ``Size`` from ``docker image inspect`` against the budget (MB = 10^6 bytes).

    Fix:
        Use a slim base, a multi-stage build, ``pip install --no-cache-dir``, and keep
        training data and tests out of the image (``.dockerignore``).
    """
    size_mb = (target.image_attrs().get("Size") or 0) / 1e6
    budget = target.config.image_size_budget_mb
    if size_mb > budget:
        raise RuleViolation(
            "image size", f"{size_mb:.0f} MB", f"at most {budget:g} MB (image_size_budget_mb)",
            reproduce=_inspect(target, "{{.Size}}"),
        )  # fmt: skip


RULES = (
    non_root_user, hardened_runtime, no_secrets, banner_and_cors,
    oci_labels, expose_and_healthcheck, image_size,
)  # fmt: skip
