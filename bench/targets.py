"""The servers under test, (a) to (e), and how to start each one on 127.0.0.1.

A target's ``build`` returns a ``Prepared`` (a server not yet started, its infer URL, its
request bodies) or raises ``NotAvailable`` with the reason the table will show. Targets
come in groups, one model each: the iris pipeline, the RandomForest (``heavy``) and the
LightGBM classifier and the sentence encoder (all-MiniLM-L6-v2); within a group every target
serves the same model to the same requests. The iris and LightGBM groups' (c) serve their
model compiled to ONNX (modelrail-runtime's `compile_onnx`), which (b') serves too, with
onnxruntime behind (b)'s bare endpoint.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from bench import payloads, sentences
from bench.envs import BENCH_DIR, Env
from bench.servers import Server, free_port
from bench.service import GeneratedService, NotAvailable

APPS = BENCH_DIR / "apps"
UVICORN_FLAGS = [
    "--host",
    "127.0.0.1",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
]


class Group(StrEnum):
    """The model a target serves; ratios compare targets of one group only."""

    IRIS = "iris"
    HEAVY = "heavy"
    LIGHTGBM = "lightgbm"
    EMBEDDING = "embedding"


@dataclass(frozen=True)
class CompiledArtifact:
    """A group's model compiled to ONNX and saved as the service loads it."""

    service_uri: Path
    """modelrail-runtime's artifact (``save_model``), served by (c) through ``MODEL_URI``."""
    onnx: Path
    """The graph inside it, which (b') serves with onnxruntime."""


@dataclass(frozen=True)
class LightGBMModel:
    """The LightGBM group's booster, written once for each kind of server."""

    compiled: CompiledArtifact
    """Compiled to ONNX, for (c) and (b')."""
    text: Path
    """LightGBM's own text model of the same booster, for (b) and MLServer."""


@dataclass
class Context:
    """What targets are built from, filled in by the runner before any server starts."""

    work: Path
    envs: dict[str, Env]
    models: dict[str, Path]
    service: GeneratedService | None = None
    service_error: str | None = None
    lightgbm_service: GeneratedService | None = None
    """The template rendered with ``model_framework=lightgbm`` (its venv has lightgbm)."""
    lightgbm_service_error: str | None = None
    embedding_service: GeneratedService | None = None
    """The template rendered with ``model_task=embedding`` and trained (`make train`)."""
    embedding_service_error: str | None = None
    pins: dict[str, str] = field(default_factory=dict)
    """The services' scikit-learn, numpy, lightgbm and onnxruntime versions, in every
    target's env (`envs.MODEL_LIBRARIES`)."""
    lean_env: dict[str, str] = field(default_factory=dict)
    batch_env: dict[str, str] = field(default_factory=dict)
    iris_artifact: CompiledArtifact | None = None
    heavy_artifact: Path | None = None
    lightgbm_model: LightGBMModel | None = None


@dataclass
class Prepared:
    """A target ready to start: its server, where to POST, and a body per row count."""

    server: Server
    infer_url: str
    body: Callable[[int], str]
    bodies: Callable[[int], list[str]] | None = None
    """Bodies wrk sends one per request, in turn (the embedding group's texts); without
    them every request is ``body(n)``."""

    def load(self, rows: int) -> list[str]:
        """What wrk sends at ``rows`` per request: the cycle of bodies, or the one body."""
        return self.bodies(rows) if self.bodies else [self.body(rows)]


@dataclass(frozen=True)
class Target:
    """One column of the comparison."""

    id: str
    label: str
    build: Callable[[Context], Prepared]
    group: Group = Group.IRIS
    renders: bool = False
    """Whether it needs its group's generated service when its id does not start with
    ``c``: (b') serves the graph compiled in the service's venv."""


def _env(ctx: Context, name: str) -> Env:
    env = ctx.envs.get(name)
    if env is None or env.error:
        raise NotAvailable(f"its venv could not be installed: {env.error if env else 'skipped'}")
    return env


def _uvicorn(
    ctx: Context,
    tid: str,
    app: str,
    ready: str,
    infer: str,
    model: Path | None,
    features: int = 4,
    *,
    venv: str = "floor",
) -> Prepared:
    env = _env(ctx, venv)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(
        tid,
        [
            env.bin("python"),
            "-m",
            "uvicorn",
            "--app-dir",
            str(APPS),
            app,
            "--port",
            str(port),
            *UVICORN_FLAGS,
        ],
        base + ready,
        ctx.work / "logs" / f"{tid}.log",
        env={"BENCH_MODEL_PATH": str(model)} if model else {},
    )
    return Prepared(server, base + infer, lambda n: payloads.oip(n, features=features))


def floor(ctx: Context) -> Prepared:
    """(a) bare ASGI, constant JSON."""
    return _uvicorn(ctx, "a", "floor_asgi:app", "/", "/", None)


def fastapi_model(ctx: Context) -> Prepared:
    """(b) bare FastAPI + pydantic + the iris model."""
    return _uvicorn(
        ctx,
        "b",
        "fastapi_model:app",
        "/v2/health/ready",
        "/v2/models/iris/infer",
        ctx.models["iris"],
    )


def fastapi_onnx(ctx: Context) -> Prepared:
    """(b') bare FastAPI + onnxruntime on the graph (c) serves."""
    return _uvicorn(
        ctx,
        "b-onnx",
        "fastapi_model:app",
        "/v2/health/ready",
        "/v2/models/iris/infer",
        iris_artifact(ctx).onnx,
    )


def fastapi_heavy(ctx: Context) -> Prepared:
    """(b) with the RandomForest: the unbatched floor for the heavy model."""
    return _uvicorn(
        ctx,
        "b-heavy",
        "fastapi_model:app",
        "/v2/health/ready",
        "/v2/models/iris/infer",
        ctx.models["heavy"],
        features=payloads.HEAVY_FEATURES,
    )


def fastapi_lightgbm(ctx: Context) -> Prepared:
    """(b) with the LightGBM booster's text model (``Booster.predict``, one thread)."""
    return _uvicorn(
        ctx,
        "b-lgbm",
        "fastapi_model:app",
        "/v2/health/ready",
        "/v2/models/lightgbm/infer",
        lightgbm_model(ctx).text,
        features=payloads.LIGHTGBM_FEATURES,
    )


def fastapi_onnx_lightgbm(ctx: Context) -> Prepared:
    """(b') bare FastAPI + onnxruntime on the LightGBM graph (c-lgbm) serves."""
    return _uvicorn(
        ctx,
        "b-onnx-lgbm",
        "fastapi_model:app",
        "/v2/health/ready",
        "/v2/models/lightgbm/infer",
        lightgbm_model(ctx).compiled.onnx,
        features=payloads.LIGHTGBM_FEATURES,
    )


def _service(
    ctx: Context,
    tid: str,
    extra_env: dict[str, str],
    svc: GeneratedService | None = None,
    features: int = 4,
) -> Prepared:
    svc = svc or ctx.service
    if svc is None:
        raise NotAvailable(ctx.service_error or "the generated service was not prepared")
    return _service_of(ctx, tid, extra_env, svc, lambda n: payloads.oip(n, features=features))


def _service_of(
    ctx: Context,
    tid: str,
    extra_env: dict[str, str],
    svc: GeneratedService,
    body: Callable[[int], str],
    bodies: Callable[[int], list[str]] | None = None,
) -> Prepared:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(
        tid,
        svc.command(),
        base + "/v2/health/ready",
        ctx.work / "logs" / f"{tid}.log",
        env={"PORT": str(port), "HOST": "127.0.0.1", **extra_env},
        cwd=svc.root,
    )
    return Prepared(server, f"{base}/v2/models/{svc.model_name}/infer", body, bodies)


def _write_artifact(svc: GeneratedService, app: str, out: Path, what: str) -> dict[str, Any]:
    """Run ``apps/<app>`` in the service's venv; its last line of output, parsed.

    The apps write a model with the service's own modelrail-runtime and libraries, the way
    its ``make train`` writes one (a compiled repo's dev group has the compilers).
    """
    proc = subprocess.run(
        [str(svc.python), str(APPS / app), str(out)],
        cwd=svc.root,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        tail = " / ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise NotAvailable(f"saving {what} with the runtime's save_model failed: {tail}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def iris_artifact(ctx: Context) -> CompiledArtifact:
    """The iris pipeline compiled to ONNX and saved with the runtime's `save_model`
    (``apps/iris_artifact.py``)."""
    if ctx.service is None:
        raise NotAvailable(ctx.service_error or "the generated service was not prepared")
    if ctx.iris_artifact is None:
        out = ctx.work / "iris-service-model"
        found = _write_artifact(ctx.service, "iris_artifact.py", out, "the iris model")
        ctx.iris_artifact = CompiledArtifact(Path(found["model_uri"]), Path(found["onnx"]))
    return ctx.iris_artifact


def service(ctx: Context) -> Prepared:
    """(c) the generated service, everything on (drift, prediction logs at rate 1.0),
    serving the iris pipeline compiled to ONNX."""
    return _service(
        ctx,
        "c",
        {
            "MODEL_URI": str(iris_artifact(ctx).service_uri),
            "PREDICTION_LOG_URL": str(ctx.work / "prediction-logs" / "c"),
        },
    )


# Drift detection and prediction logging off, unless --lean-env says otherwise.
DEFAULT_LEAN_ENV = {"DRIFT_WINDOW_ROWS": "0", "PREDICTION_LOG_SAMPLE_RATE": "0"}


def service_lean(ctx: Context) -> Prepared:
    """(c) with drift detection and prediction logging off (``--lean-env`` to change)."""
    env = {"MODEL_URI": str(iris_artifact(ctx).service_uri), **(ctx.lean_env or DEFAULT_LEAN_ENV)}
    return _service(ctx, "c-lean", env)


# Micro-batching on, with the service's default batch size and wait, unless --batch-env.
DEFAULT_BATCH_ENV = {"PREDICT_MODE": "batch"}


def heavy_artifact(ctx: Context, svc: GeneratedService) -> Path:
    """The RandomForest saved with the runtime's `save_model` (``apps/heavy_artifact.py``)."""
    if ctx.heavy_artifact is None:
        out = ctx.work / "heavy-service-model"
        found = _write_artifact(svc, "heavy_artifact.py", out, "the RandomForest")
        ctx.heavy_artifact = Path(found["model_uri"])
    return ctx.heavy_artifact


def _service_heavy(ctx: Context, tid: str, extra_env: dict[str, str]) -> Prepared:
    if ctx.service is None:
        raise NotAvailable(ctx.service_error or "the generated service was not prepared")
    env = {"MODEL_URI": str(heavy_artifact(ctx, ctx.service)), **extra_env}
    return _service(ctx, tid, env, features=payloads.HEAVY_FEATURES)


def service_heavy(ctx: Context) -> Prepared:
    """(c) serving the RandomForest, micro-batching off: worker threads. (The default,
    ``auto``, batches a model whose cost is per call, as this one's is: it would measure
    batching against itself.)"""
    return _service_heavy(ctx, "c-heavy", {"PREDICT_MODE": "thread"})


def service_heavy_batch(ctx: Context) -> Prepared:
    """(c) serving the RandomForest with micro-batching on (``--batch-env`` to tune it)."""
    return _service_heavy(ctx, "c-heavy-batch", ctx.batch_env or DEFAULT_BATCH_ENV)


def _mlserver(
    ctx: Context,
    tid: str,
    model: Path,
    settings: dict[str, object],
    model_params: dict[str, object] | None = None,
    features: int = 4,
    *,
    name: str = "iris",
    implementation: str = "mlserver_sklearn.SKLearnModel",
) -> Prepared:
    env = _env(ctx, "mlserver")
    port, grpc, metrics = free_port(), free_port(), free_port()
    root = ctx.work / "mlserver" / tid
    (root / name).mkdir(parents=True, exist_ok=True)
    server_settings = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": grpc,
        "metrics_port": metrics,
        **settings,
    }
    (root / "settings.json").write_text(json.dumps(server_settings, indent=2))
    (root / name / "model-settings.json").write_text(
        json.dumps(
            {
                "name": name,
                "implementation": implementation,
                "parameters": {"uri": str(model)},
                **(model_params or {}),
            },
            indent=2,
        )
    )
    base = f"http://127.0.0.1:{port}"
    server = Server(
        tid,
        [env.bin("mlserver"), "start", str(root)],
        base + "/v2/health/ready",
        ctx.work / "logs" / f"{tid}.log",
        # MLServer writes its multiprocess metrics to ./.metrics; keep them in its own root.
        cwd=root,
    )
    return Prepared(
        server, f"{base}/v2/models/{name}/infer", lambda n: payloads.oip(n, features=features)
    )


def mlserver(ctx: Context) -> Prepared:
    """(d) MLServer, default settings (inference in a parallel worker process)."""
    return _mlserver(ctx, "d", ctx.models["iris"], {})


def mlserver_inline(ctx: Context) -> Prepared:
    """(d0) MLServer with ``parallel_workers: 0`` (inference on the event loop)."""
    return _mlserver(ctx, "d0", ctx.models["iris"], {"parallel_workers": 0})


def mlserver_heavy_batch(ctx: Context) -> Prepared:
    """MLServer's adaptive batching on the RandomForest, for reference."""
    return _mlserver(
        ctx,
        "d-heavy-batch",
        ctx.models["heavy"],
        {"parallel_workers": 0},
        {"max_batch_size": 32, "max_batch_time": 0.002},
        features=payloads.HEAVY_FEATURES,
    )


def lightgbm_model(ctx: Context) -> LightGBMModel:
    """The LightGBM booster, trained once in the LightGBM service's venv.

    ``apps/lightgbm_artifact.py`` writes the runtime's artifact (the booster compiled to
    ONNX) and LightGBM's text model of the same fit, so (b), (b'), (c) and (d) of the group
    serve the same trees.
    """
    if ctx.lightgbm_model is None:
        svc = ctx.lightgbm_service
        if svc is None:
            raise NotAvailable(
                ctx.lightgbm_service_error or "the LightGBM service was not prepared"
            )
        out = ctx.work / "lightgbm-model"
        found = _write_artifact(svc, "lightgbm_artifact.py", out, "the LightGBM model")
        compiled = CompiledArtifact(Path(found["model_uri"]), Path(found["onnx"]))
        ctx.lightgbm_model = LightGBMModel(compiled, Path(found["model_txt"]))
    return ctx.lightgbm_model


def service_lightgbm(ctx: Context) -> Prepared:
    """(c) rendered with ``model_framework=lightgbm``, everything on, serving the booster
    compiled to ONNX."""
    env = {
        "MODEL_URI": str(lightgbm_model(ctx).compiled.service_uri),
        "PREDICTION_LOG_URL": str(ctx.work / "prediction-logs" / "c-lgbm"),
    }
    return _service(
        ctx, "c-lgbm", env, svc=ctx.lightgbm_service, features=payloads.LIGHTGBM_FEATURES
    )


def mlserver_lightgbm(ctx: Context) -> Prepared:
    """(d) MLServer's own lightgbm runtime, default settings, on LightGBM's text model."""
    return _mlserver(
        ctx,
        "d-lgbm",
        lightgbm_model(ctx).text,
        {},
        features=payloads.LIGHTGBM_FEATURES,
        name="lightgbm",
        implementation="mlserver_lightgbm.LightGBMModel",
    )


def embedding_bodies(rows: int) -> list[str]:
    """The embedding group's requests: its texts (`bench.sentences`), ``rows`` per request.

    One text per request is what the group measures (a search service gets them so); the
    texts are cycled in order, every target from the first.
    """
    texts = sentences.sentences()
    return [payloads.oip_text(texts[i : i + rows]) for i in range(0, len(texts) - rows + 1, rows)]


def embedding_body(rows: int) -> str:
    """The first of `embedding_bodies`: the smoke test's and the profiler's request."""
    return embedding_bodies(rows)[0]


# Sentence-transformers and the Hugging Face libraries it imports must not reach for the
# hub: the model is the packaged copy, and nothing is downloaded at run time.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


EMBEDDING_MODEL = "minilm"
"""The model name in (b-emb)'s URL (any name is served; the service's is its own)."""


def fastapi_embedding(ctx: Context) -> Prepared:
    """(b-emb) a bare FastAPI endpoint, sentence-transformers on torch (CPU)."""
    prep = _uvicorn(
        ctx,
        "b-emb",
        "fastapi_embedding:app",
        "/v2/health/ready",
        f"/v2/models/{EMBEDDING_MODEL}/infer",
        None,
        venv="embedding",
    )
    prep.server.env.update(OFFLINE_ENV)
    prep.body, prep.bodies = embedding_body, embedding_bodies
    return prep


def _service_embedding(ctx: Context, tid: str, extra_env: dict[str, str]) -> Prepared:
    svc = ctx.embedding_service
    if svc is None:
        raise NotAvailable(ctx.embedding_service_error or "the embedding service was not prepared")
    env = {"PREDICTION_LOG_URL": str(ctx.work / "prediction-logs" / tid), **extra_env}
    return _service_of(ctx, tid, env, svc, embedding_body, embedding_bodies)


def service_embedding(ctx: Context) -> Prepared:
    """(c-emb) the generated embedding service with its defaults (micro-batching on),
    serving the model its ``make train`` exported (its own ``artifacts/``)."""
    return _service_embedding(ctx, "c-emb", {})


# Batching off: each request predicted on its own in the worker threads.
NO_BATCH_ENV = {"PREDICT_MODE": "thread"}


def service_embedding_nobatch(ctx: Context) -> Prepared:
    """(c-emb-nobatch) the generated embedding service with micro-batching off."""
    return _service_embedding(ctx, "c-emb-nobatch", NO_BATCH_ENV)


def bentoml(ctx: Context) -> Prepared:
    """(e) BentoML 1.4, one worker."""
    env = _env(ctx, "bentoml")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(
        "e",
        [
            env.bin("bentoml"),
            "serve",
            "bento_service:Iris",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        base + "/readyz",
        ctx.work / "logs" / "e.log",
        env={
            "BENCH_MODEL_PATH": str(ctx.models["iris"]),
            "BENTOML_DO_NOT_TRACK": "True",
            "BENTOML_HOME": str(ctx.work / "bentoml-home"),
        },
        cwd=APPS,
    )
    return Prepared(server, base + "/predict", payloads.bentoml)


TARGETS: tuple[Target, ...] = (
    Target("a", "(a) bare ASGI, constant JSON", floor),
    Target("b", "(b) bare FastAPI + iris", fastapi_model),
    Target("b-onnx", "(b') bare FastAPI + onnxruntime", fastapi_onnx, renders=True),
    Target("c", "(c) generated service", service),
    Target("c-lean", "(c) drift + prediction logs off", service_lean),
    Target("d", "(d) MLServer, defaults", mlserver),
    Target("d0", "(d) MLServer, parallel_workers 0", mlserver_inline),
    Target("e", "(e) BentoML", bentoml),
    Target("b-heavy", "(b) FastAPI + RandomForest", fastapi_heavy, Group.HEAVY),
    Target("c-heavy", "(c) RandomForest, batching off", service_heavy, Group.HEAVY),
    Target("c-heavy-batch", "(c) RandomForest, batching on", service_heavy_batch, Group.HEAVY),
    Target(
        "d-heavy-batch",
        "(d) MLServer RandomForest, adaptive batching",
        mlserver_heavy_batch,
        Group.HEAVY,
    ),
    Target("b-lgbm", "(b) FastAPI + LightGBM", fastapi_lightgbm, Group.LIGHTGBM),
    Target(
        "b-onnx-lgbm",
        "(b') FastAPI + onnxruntime, LightGBM graph",
        fastapi_onnx_lightgbm,
        Group.LIGHTGBM,
    ),
    Target("c-lgbm", "(c) LightGBM service", service_lightgbm, Group.LIGHTGBM),
    Target("d-lgbm", "(d) MLServer lightgbm runtime", mlserver_lightgbm, Group.LIGHTGBM),
    Target("b-emb", "(b) FastAPI + sentence-transformers", fastapi_embedding, Group.EMBEDDING),
    Target("c-emb", "(c) embedding service, batching on", service_embedding, Group.EMBEDDING),
    Target(
        "c-emb-nobatch",
        "(c) embedding service, batching off",
        service_embedding_nobatch,
        Group.EMBEDDING,
    ),
)
BY_ID = {t.id: t for t in TARGETS}


def variant(label: str, spec: str) -> Target:
    """A (c)-like target from ``--variant LABEL=PATH[,KEY=VALUE...]``.

    PATH is a generated repo (a modified copy, or the same one), KEY=VALUE its environment.
    For section 3 of issue 8: try a change and compare it with (c) and (b) in the same run
    before changing the template. Like (c) it serves the iris artifact through
    ``MODEL_URI``, unless KEY=VALUE sets ``MODEL_URI`` (a repo whose runtime cannot read it).
    """
    from bench.service import describe

    path, *pairs = spec.split(",")
    env = dict(pair.split("=", 1) for pair in pairs if "=" in pair)

    def build(ctx: Context) -> Prepared:
        model = {} if "MODEL_URI" in env else {"MODEL_URI": str(iris_artifact(ctx).service_uri)}
        return _service(ctx, f"c:{label}", {**model, **env}, describe(Path(path).resolve()))

    return Target(f"c:{label}", f"(c) variant {label}", build)
