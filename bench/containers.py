"""Container cold start to ready, and image size, for (c) and for (d)/(e).

(c) is built as its team builds it, ``make image`` (its Dockerfile, with the local index
of modelrail-runtime copied into the build context when the repo installs from one).
MLServer's and BentoML's own image builders
(``mlserver build``, ``bentoml containerize``) pull their base images from a registry, which
this machine cannot reach; bench/docker/ has plain Dockerfiles that install them from PyPI
on the same local base image instead. So does the embedding group's baseline (b-emb), with
torch's CPU wheel copied into its build context (PyPI's torch is the CUDA build).
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.envs import BENCH_DIR, LIGHTGBM_PACKAGES, requirements
from bench.servers import free_port, http, wait_ready

DOCKERFILES = BENCH_DIR / "docker"


@dataclass(frozen=True)
class ImageSpec:
    """How to build one image and how to know its container is ready."""

    target: str
    tag: str
    context: Path
    dockerfile: Path | None
    port: int
    ready_path: str
    make_image: bool = False
    """Build with the repo's ``make image`` (IMAGE, BASE_IMAGE) instead of ``docker build``."""
    infer_path: str | None = None
    """Where to POST ``infer_body`` once ready: the cold start then runs to its first 200
    too (a model that loads lazily, or warms up on its first request, shows there)."""
    infer_body: str | None = None
    site_packages: str | None = None
    """A shell glob of the image's site-packages: when set, what the image holds is
    measured too (`layers`, `largest_packages`), to show what stands in the way of a size."""


def _docker(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def docker_available() -> str | None:
    """``None`` when a Docker engine answers, else why not."""
    if shutil.which("docker") is None:
        return "docker is not installed"
    proc = _docker("version", "--format", "{{.Server.Version}}", timeout=30)
    return None if proc.returncode == 0 else f"no Docker engine answers: {proc.stderr.strip()}"


def build(spec: ImageSpec, base_image: str) -> str | None:
    """Build the image; ``None`` on success, else the reason (last lines of the build)."""
    if spec.make_image:
        what = "make image"
        proc = subprocess.run(
            ["make", "image", f"IMAGE={spec.tag}", f"BASE_IMAGE={base_image}"],
            cwd=spec.context,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    else:
        what = "docker build"
        args = ["build", "-q", "--build-arg", f"BASE_IMAGE={base_image}", "-t", spec.tag]
        if spec.dockerfile is not None:
            args += ["-f", str(spec.dockerfile)]
        proc = _docker(*args, str(spec.context))
    if proc.returncode == 0:
        return None
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return f"{what} failed: {' / '.join(tail)}"


HISTORY_FORMAT = "{{.Size}}\t{{.CreatedBy}}"
CREATED_BY_CHARS = 110
"""How much of a layer's command the report shows."""
BASE_LAYER = "(no command: a layer of the base image)"
DIGEST = re.compile(r"\b(dir|file|multi):[0-9a-f]{64}\b")
"""A COPY's content digest in ``docker history``: shortened, it still tells layers apart."""


def layers(tag: str) -> list[dict[str, object]]:
    """The image's layers that hold bytes, largest first: size and the command that made
    each (``docker history``); empty when docker cannot say."""
    proc = _docker("history", "--no-trunc", "--human=false", "--format", HISTORY_FORMAT, tag,
                   timeout=60)  # fmt: skip
    if proc.returncode != 0:
        return []
    return parse_history(proc.stdout)


def parse_history(text: str) -> list[dict[str, object]]:
    """``docker history`` lines (``SIZE<TAB>CREATED BY``) as layers with bytes, largest
    first; the command shortened to `CREATED_BY_CHARS`, whitespace collapsed."""
    found = []
    for line in text.splitlines():
        size, _, created_by = line.partition("\t")
        if not size.strip().isdigit() or int(size) == 0:
            continue
        command = " ".join(created_by.split())
        command = command.removeprefix("/bin/sh -c ").removeprefix("#(nop) ").strip()
        command = DIGEST.sub(lambda m: m.group(0)[:12], command) or BASE_LAYER
        if len(command) > CREATED_BY_CHARS:
            command = command[: CREATED_BY_CHARS - 3] + "..."
        found.append({"bytes": int(size), "created_by": command})
    return sorted(found, key=lambda layer: -int(str(layer["bytes"])))


def largest_packages(tag: str, glob: str, count: int = 12) -> list[dict[str, object]]:
    """The ``count`` largest entries of the image's site-packages (``du -sk``), largest
    first; empty when the image has no shell or no such directory."""
    script = f"du -sk {glob}/* | sort -n | tail -n {count}"
    proc = _docker("run", "--rm", "--entrypoint", "sh", tag, "-c", script, timeout=120)
    if proc.returncode != 0:
        return []
    return parse_du(proc.stdout)


def parse_du(text: str) -> list[dict[str, object]]:
    """``du -sk`` lines (``KIB<TAB>PATH``) as ``{"name", "bytes"}``, largest first."""
    found = []
    for line in text.splitlines():
        size, _, path = line.partition("\t")
        if size.strip().isdigit() and path:
            found.append({"name": path.rstrip("/").rsplit("/", 1)[-1], "bytes": int(size) * 1024})
    return sorted(found, key=lambda entry: -int(str(entry["bytes"])))


def image_bytes(tag: str) -> int | None:
    """The image's size as ``docker image inspect`` reports it."""
    proc = _docker("image", "inspect", "--format", "{{.Size}}", tag, timeout=30)
    return int(proc.stdout.strip()) if proc.returncode == 0 else None


@dataclass(frozen=True)
class ColdStart:
    """One container's start: seconds from ``docker run`` to each first 200."""

    ready_s: float
    infer_s: float | None = None
    """To the first 200 on the infer path, when the spec has one."""


def cold_start(spec: ImageSpec, repetitions: int, timeout_s: float = 120) -> list[ColdStart]:
    """Seconds from ``docker run`` to the first 200 on the ready path (then on the infer
    path, when the spec has one), once per repetition.

    The container gets one core (``--cpuset-cpus 0``: one CPU, the first), like the
    servers on the host.
    """
    times = []
    for _ in range(repetitions):
        port = free_port()
        start = time.monotonic()
        proc = _docker(
            "run",
            "-d",
            "--rm",
            "--cpuset-cpus",
            "0",
            "-p",
            f"127.0.0.1:{port}:{spec.port}",
            spec.tag,
            timeout=120,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"docker run {spec.tag} failed: {proc.stderr.strip()}")
        cid = proc.stdout.strip()
        try:
            wait_ready(f"http://127.0.0.1:{port}{spec.ready_path}", timeout_s)
            ready = time.monotonic() - start
            infer = None
            if spec.infer_path is not None:
                first_infer(f"http://127.0.0.1:{port}{spec.infer_path}", spec.infer_body or "")
                infer = time.monotonic() - start
            times.append(ColdStart(ready, infer))
        finally:
            _docker("rm", "-f", cid, timeout=60)
    return times


def first_infer(url: str, body: str, timeout_s: float = 60) -> None:
    """POST ``body`` until it answers 200 (a ready service should at once).

    Raises:
        RuntimeError: naming the URL and the last answer, when no 200 comes in time.
    """
    deadline = time.monotonic() + timeout_s
    status, answer = 0, b""
    while time.monotonic() < deadline:
        status, answer = http(url, body.encode(), timeout=timeout_s)
        if status == 200:
            return
        time.sleep(0.02)
    raise RuntimeError(
        f"POST {url} did not answer 200 within {timeout_s:.0f} s of readiness "
        f"(last status {status or 'none'}: {answer[:200]!r})"
    )


def measure(spec: ImageSpec, base_image: str, repetitions: int) -> dict[str, object]:
    """Build, size and cold-start one image; failures become an ``error`` entry."""
    error = build(spec, base_image)
    if error:
        return {"tag": spec.tag, "error": error}
    try:
        starts = cold_start(spec, repetitions)
    except (RuntimeError, TimeoutError) as err:
        return {"tag": spec.tag, "image_bytes": image_bytes(spec.tag), "error": str(err)}
    ready = [s.ready_s for s in starts]
    out: dict[str, object] = {
        "tag": spec.tag,
        "image_bytes": image_bytes(spec.tag),
        "cold_start_s": statistics.median(ready),
        "cold_start_runs_s": ready,
    }
    infer = [s.infer_s for s in starts if s.infer_s is not None]
    if infer:
        out["cold_start_infer_s"] = statistics.median(infer)
        out["cold_start_infer_runs_s"] = infer
    if spec.site_packages is not None:
        out["layers"] = layers(spec.tag)
        out["largest_packages"] = largest_packages(spec.tag, spec.site_packages)
    return out


def stage_context(
    target: str,
    work: Path,
    model: Path,
    app: Path | None = None,
    pins: Mapping[str, str] | None = None,
) -> Path:
    """A build context for (d) or (e): the requirements (``pins`` applied), model and app.

    The images serve the iris model: the LightGBM group's packages stay out, so that the
    image sizes compare the servers as before.
    """
    ctx = work / "docker" / target
    if ctx.exists():
        shutil.rmtree(ctx)
    ctx.mkdir(parents=True)
    name = {"d": "mlserver", "e": "bentoml"}[target]
    (ctx / "requirements.txt").write_text(requirements(name, pins, drop=LIGHTGBM_PACKAGES))
    shutil.copy(model, ctx / "model.joblib")
    if app is not None:
        shutil.copy(app, ctx / app.name)
    return ctx


def stage_embedding_context(
    work: Path, app: Path, wheels: Path, pins: Mapping[str, str] | None = None
) -> Path:
    """The embedding baseline's build context: requirements, torch's CPU wheel, the app.

    ``wheels`` is the local index's torch directory (`bench.envs.torch_wheels`); its wheel
    is linked (copied across file systems) into ``wheels/``, which
    ``docker/embedding.Dockerfile`` installs torch from before anything else.
    """
    ctx = work / "docker" / "b-emb"
    if ctx.exists():
        shutil.rmtree(ctx)
    (ctx / "wheels").mkdir(parents=True)
    text = requirements("embedding", pins, drop=LIGHTGBM_PACKAGES)
    (ctx / "requirements.txt").write_text(text)
    for wheel in wheels.glob("torch-*.whl"):
        try:
            (ctx / "wheels" / wheel.name).hardlink_to(wheel)
        except OSError:
            shutil.copy(wheel, ctx / "wheels" / wheel.name)
    shutil.copy(app, ctx / app.name)
    return ctx
