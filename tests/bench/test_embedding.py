"""The embedding group: its parity check, its targets' checks, its requests and images."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench import embedding, sentences, targets
from bench.servers import Server
from bench.service import GeneratedService


def answer(rows: list[list[float]], datatype: str = "FP32") -> bytes:
    flat = [x for row in rows for x in row]
    tensor = {"name": "embedding", "shape": [len(rows), 3], "datatype": datatype, "data": flat}
    ids = {"name": "prediction_id", "shape": [1], "datatype": "BYTES", "data": ["x"]}
    return json.dumps({"model_name": "m", "outputs": [ids, tensor]}).encode()


def test_embedding_of_reads_the_first_row_of_the_embedding_output() -> None:
    assert embedding.embedding_of(answer([[0.6, 0.8, 0.0], [1, 0, 0]])) == [0.6, 0.8, 0.0]


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"outputs": []}', answer([[1, 0, 0]], datatype="FP64"), b'{"error": "x"}'],
)
def test_embedding_of_refuses_what_is_not_an_fp32_embedding(body: bytes) -> None:
    with pytest.raises(ValueError, match="embedding"):
        embedding.embedding_of(body)


def test_cosine() -> None:
    assert embedding.cosine([1, 0], [1, 0]) == pytest.approx(1.0)
    assert embedding.cosine([1, 0], [0, 2]) == pytest.approx(0.0)
    assert embedding.cosine([1, 1], [2, 2]) == pytest.approx(1.0)
    assert embedding.cosine([0, 0], [1, 1]) == 0.0
    with pytest.raises(ValueError, match="2 and 3 dimensions"):
        embedding.cosine([1, 0], [1, 0, 0])


class Encoder(BaseHTTPRequestHandler):
    """An OIP endpoint answering a fixed vector per text, tilted by ``self.server.tilt``."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        (text,) = request["inputs"][0]["data"]
        x = float(len(text))
        tilt = self.server.tilt  # type: ignore[attr-defined]
        body = answer([[x, 1.0, tilt]])
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def encoders() -> Iterator[dict[str, ThreadingHTTPServer]]:
    servers = {}
    for tid, tilt in (("b-emb", 0.0), ("c-emb", 0.0), ("c-emb-nobatch", 3.0)):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Encoder)
        server.tilt = tilt  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers[tid] = server
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


def live(servers: dict[str, ThreadingHTTPServer]) -> dict[str, targets.Prepared]:
    return {
        tid: targets.Prepared(
            Server(tid, [], "", Path("log")),
            f"http://127.0.0.1:{server.server_address[1]}/v2/models/m/infer",
            targets.embedding_body,
        )
        for tid, server in servers.items()
    }


def test_parity_compares_each_service_with_the_baseline_text_by_text(
    encoders: dict[str, ThreadingHTTPServer],
) -> None:
    found = embedding.parity(live(encoders), count=4)
    assert found["texts"] == 4
    same, tilted = found["targets"]["c-emb"], found["targets"]["c-emb-nobatch"]
    assert same["cosines"] == pytest.approx([1.0] * 4)
    assert len(tilted["cosines"]) == 4
    assert tilted["min"] < 0.999
    check = embedding.parity_check(found)
    assert check.status == "FAIL"
    assert "c-emb min 1.00000000" in check.detail
    assert check.detail.endswith("over 4 texts")


def test_parity_passes_when_the_services_agree(encoders: dict[str, ThreadingHTTPServer]) -> None:
    running = live(encoders)
    del running["c-emb-nobatch"]
    assert embedding.parity_check(embedding.parity(running, count=3)).status == "PASS"


def test_parity_needs_the_baseline_and_a_service(
    encoders: dict[str, ThreadingHTTPServer],
) -> None:
    running = live(encoders)
    del running["b-emb"]
    found = embedding.parity(running)
    assert "needs b-emb" in found["error"]
    check = embedding.parity_check(found)
    assert (check.status, check.detail) == ("N/A", found["error"])


def test_parity_reports_a_service_that_does_not_answer_an_embedding() -> None:
    closed = targets.Prepared(
        Server("c-emb", [], "", Path("log")), "http://127.0.0.1:9/infer", targets.embedding_body
    )
    found = embedding.parity({"b-emb": closed, "c-emb": closed}, count=1)
    assert "answered 0" in found["error"]


def cells_and_runs(
    rps: dict[str, float],
) -> tuple[dict[tuple[str, int, int], dict[str, float]], list[dict[str, object]]]:
    cells = {(t, 32, 1): {"rps": v, "p50_ms": 1.0, "p99_ms": 2.0} for t, v in rps.items()}
    runs: list[dict[str, object]] = [
        {"target": t, "concurrency": 32, "rows": 1, "rep": rep, "rps": v}
        for t, v in rps.items()
        for rep in (1, 2, 3)
    ]
    return cells, runs


def test_the_groups_checks_from_made_up_numbers() -> None:
    cells, runs = cells_and_runs({"b-emb": 30.0, "c-emb": 75.0})
    images = {"b-emb": {"image_bytes": 2_000_000_000}, "c-emb": {"image_bytes": 500_000_000}}
    agreement = {"texts": 8, "targets": {"c-emb": {"min": 0.99999, "cosines": [0.99999]}}}
    found = {c.name: c for c in embedding.checks(cells, runs, images, agreement)}
    assert set(found) == set(embedding.CHECKS)
    assert found[embedding.THROUGHPUT_CHECK].status == "PASS"
    assert found[embedding.THROUGHPUT_CHECK].detail == "c=32 2.50"
    assert found[embedding.SIZE_CHECK].status == "PASS"
    assert found[embedding.SIZE_CHECK].detail.startswith("0.25 x")
    assert found[embedding.PARITY_CHECK].status == "PASS"


def test_the_groups_checks_fail_or_are_not_measured() -> None:
    cells, runs = cells_and_runs({"b-emb": 30.0, "c-emb": 45.0})
    images = {"b-emb": {"image_bytes": 1_000_000_000}, "c-emb": {"image_bytes": 400_000_000}}
    found = {c.name: c.status for c in embedding.checks(cells, runs, images, {})}
    assert found == {
        embedding.THROUGHPUT_CHECK: "FAIL",
        embedding.SIZE_CHECK: "FAIL",
        embedding.PARITY_CHECK: "N/A",
    }
    none = {c.name: c.status for c in embedding.checks({}, [], {}, {})}
    assert set(none.values()) == {"N/A"}


def test_every_target_gets_the_same_texts_one_per_request() -> None:
    bodies = targets.embedding_bodies(1)
    assert len(bodies) == sentences.COUNT
    texts = [json.loads(b)["inputs"][0] for b in bodies]
    assert texts[0] == {
        "name": "text",
        "shape": [1],
        "datatype": "BYTES",
        "data": [sentences.sentences()[0]],
    }
    assert [t["data"][0] for t in texts] == sentences.sentences()
    assert targets.embedding_body(1) == bodies[0]
    (pair, *_) = targets.embedding_bodies(2)
    assert json.loads(pair)["inputs"][0]["shape"] == [2]


def service(root: Path) -> GeneratedService:
    return GeneratedService(root, "svc", "sentence-encoder", 8080, root / ".venv/bin/python")


def test_the_images_of_the_group(tmp_path: Path) -> None:
    wheels = tmp_path / "index"
    wheels.mkdir()
    (wheels / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"wheel")
    root = tmp_path / "service"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM x\n")
    (root / "Makefile").write_text("image:\n\tdocker build .\n")
    specs, errors = embedding.image_specs(
        tmp_path / "work", ["b-emb", "c-emb", "c-emb-nobatch"], service(root), wheels, {}
    )
    assert errors == {}
    baseline, generated = specs
    assert baseline.target == "b-emb"
    assert baseline.dockerfile is not None
    assert baseline.dockerfile.name == "embedding.Dockerfile"
    staged = baseline.context / "wheels" / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    assert staged.read_bytes() == b"wheel"
    assert (baseline.context / "fastapi_embedding.py").is_file()
    assert baseline.infer_path == "/v2/models/minilm/infer"
    assert generated.make_image
    assert generated.context == root
    assert generated.infer_path == "/v2/models/sentence-encoder/infer"
    assert json.loads(generated.infer_body or "")["inputs"][0]["datatype"] == "BYTES"


def test_an_image_that_cannot_be_built_says_why(tmp_path: Path) -> None:
    specs, errors = embedding.image_specs(
        tmp_path, ["b-emb", "c-emb"], None, None, {}, wheels_error="no wheel for Python 3.11"
    )
    assert specs == []
    assert errors == {
        "b-emb": {"error": "no wheel for Python 3.11"},
        "c-emb": {"error": "the embedding service was not prepared"},
    }
