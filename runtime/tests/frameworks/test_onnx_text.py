"""The ONNX text encoder: a tokenizer and a sentence-embedding graph, checked at load.

A tiny BERT-like pair is built here: a WordPiece tokenizer of a dozen words (the
``tokenizers`` library) and a graph that looks each token up in an embedding table, adds a
token-type vector, mean-pools over the attention mask and L2-normalises, as an exported
sentence encoder does. The expected embeddings are computed in numpy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from modelrail_runtime import ModelLoadError
from modelrail_runtime.adapter import TokenCounter
from modelrail_runtime.artifacts import read_verified, write_artifact
from modelrail_runtime.frameworks.onnx_text import (
    TOKENIZER_FILE,
    TOKENIZER_KEY,
    OnnxTextEncoder,
    load_text_encoder,
)

VOCAB = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "dog", "a", "##s")
IDS = {token: index for index, token in enumerate(VOCAB)}
DIMENSIONS = 6
MAX_TOKENS = 8
RNG = np.random.default_rng(0)
TOKEN_VECTORS = RNG.normal(size=(len(VOCAB), DIMENSIONS)).astype(np.float32)
TYPE_VECTORS = RNG.normal(size=(2, DIMENSIONS)).astype(np.float32)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
TEXTS = ["the cat sat on the mat", "a dog", "The DOG sat", "cats", "the zebra sat", ""]
"""Different lengths, upper case, a sub-word (cat ##s), an unknown word, an empty text."""


def wordpiece() -> Tokenizer:
    """A BERT-like tokenizer: lower case, WordPiece, ``[CLS] text [SEP]``."""
    tokenizer = Tokenizer(models.WordPiece(dict(IDS), unk_token="[UNK]"))  # noqa: S106
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", IDS["[CLS]"]), ("[SEP]", IDS["[SEP]"])]
    )
    tokenizer.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    return tokenizer


TOKENIZER = wordpiece().to_str().encode("utf-8")


def encoder_graph(
    *,
    inputs: Sequence[str] = INPUTS,
    shape: Sequence[int | str] = ("batch", "sequence"),
    id_type: int = TensorProto.INT64,
    output: str = "sentence_embedding",
    normalise: bool = True,
    vectors: NDArray[np.float32] = TOKEN_VECTORS,
) -> bytes:
    """Mean of the token (+ type) vectors over the attention mask, L2-normalised."""
    ids = "input_ids" if "input_ids" in inputs else inputs[0]
    nodes = [helper.make_node("Cast", [ids], ["ids"], to=TensorProto.INT64)]
    nodes.append(helper.make_node("Gather", ["E", "ids"], ["tokens"]))
    hidden = "tokens"
    if "token_type_ids" in inputs:
        nodes.append(helper.make_node("Gather", ["T", "token_type_ids"], ["types"]))
        nodes.append(helper.make_node("Add", ["tokens", "types"], ["hidden"]))
        hidden = "hidden"
    mask = "attention_mask" if "attention_mask" in inputs else ids
    nodes += [
        helper.make_node("Cast", [mask], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "last"], ["mask3"]),
        helper.make_node("Mul", [hidden, "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "sequence_axis"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "sequence_axis"], ["count"], keepdims=0),
        helper.make_node("Max", ["count", "tiny"], ["safe_count"]),
        helper.make_node("Div", ["summed", "safe_count"], ["pooled"]),
    ]
    if normalise:
        nodes.append(helper.make_node("LpNormalization", ["pooled"], [output], axis=1, p=2))
    else:
        nodes.append(helper.make_node("Identity", ["pooled"], [output]))
    graph = helper.make_graph(
        nodes,
        "encoder",
        [helper.make_tensor_value_info(name, id_type, list(shape)) for name in inputs],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", DIMENSIONS])],
        [
            numpy_helper.from_array(vectors, "E"),
            numpy_helper.from_array(TYPE_VECTORS, "T"),
            numpy_helper.from_array(np.array([-1], np.int64), "last"),
            numpy_helper.from_array(np.array([1], np.int64), "sequence_axis"),
            numpy_helper.from_array(np.array(1e-9, np.float32), "tiny"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


def expected(token_ids: Sequence[int], *, types: bool = True) -> NDArray[np.float64]:
    """The embedding of one text's token ids, in numpy."""
    vectors = TOKEN_VECTORS[list(token_ids)].astype(np.float64)
    if types:
        vectors = vectors + TYPE_VECTORS[0]
    pooled = vectors.mean(axis=0)
    return pooled / np.linalg.norm(pooled)


def ids_of(*tokens: str) -> list[int]:
    return [IDS["[CLS]"], *(IDS[token] for token in tokens), IDS["[SEP]"]]


TEXT_IDS = [
    ids_of("the", "cat", "sat", "on", "the", "mat"),
    ids_of("a", "dog"),
    ids_of("the", "dog", "sat"),
    ids_of("cat", "##s"),
    ids_of("the", "[UNK]", "sat"),
    ids_of(),
]


@pytest.fixture(scope="module")
def encoder() -> OnnxTextEncoder:
    return OnnxTextEncoder(encoder_graph(), TOKENIZER, MAX_TOKENS)


@pytest.mark.parametrize("inputs", [INPUTS, INPUTS[:2]], ids=["with types", "without types"])
def test_embeddings_are_the_graphs_pooled_token_vectors(inputs: tuple[str, ...]) -> None:
    encoder = OnnxTextEncoder(encoder_graph(inputs=inputs), TOKENIZER, MAX_TOKENS)
    embeddings = encoder(TEXTS)
    assert embeddings.dtype == np.float32
    assert embeddings.shape == (len(TEXTS), DIMENSIONS)
    assert encoder.dimensions == DIMENSIONS
    types = "token_type_ids" in inputs
    for row, token_ids in enumerate(TEXT_IDS):
        np.testing.assert_allclose(embeddings[row], expected(token_ids, types=types), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-6)


def test_a_texts_embedding_does_not_depend_on_its_batch(encoder: OnnxTextEncoder) -> None:
    # Alone, "a dog" is not padded; beside a longer text it is, and the padding is masked.
    alone = encoder(["a dog"])
    batched = encoder(["the cat sat on the mat", "a dog"])
    np.testing.assert_allclose(batched[1:], alone, atol=1e-6)


def test_texts_longer_than_max_tokens_are_truncated(encoder: OnnxTextEncoder) -> None:
    words = ["the", "cat", "sat", "on", "the", "mat", "a", "dog", "sat", "on", "a", "mat"]
    embedding = encoder([" ".join(words)])
    # [CLS], the first MAX_TOKENS - 2 words, [SEP]: special tokens count in max_tokens.
    np.testing.assert_allclose(embedding[0], expected(ids_of(*words[: MAX_TOKENS - 2])), atol=1e-6)


def test_an_empty_batch_gives_no_rows(encoder: OnnxTextEncoder) -> None:
    embeddings = encoder([])
    assert embeddings.shape == (0, DIMENSIONS)
    assert embeddings.dtype == np.float32


def test_texts_from_a_request_tensor_are_encoded(encoder: OnnxTextEncoder) -> None:
    # The protocol layer gives BYTES inputs as numpy arrays of str objects.
    texts = np.array(["a dog", "the cat sat on the mat"], dtype=object)
    np.testing.assert_array_equal(encoder(texts), encoder(list(texts)))


def test_concurrent_calls_agree(encoder: OnnxTextEncoder) -> None:
    reference = encoder(TEXTS)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: encoder(TEXTS), range(16)))
    for result in results:
        np.testing.assert_array_equal(result, reference)


def test_count_tokens_counts_a_texts_tokens_and_its_unknown_ones(encoder: OnnxTextEncoder) -> None:
    counter: TokenCounter = encoder.count_tokens
    long = " ".join(["the cat sat on the mat"] * 3)
    tokens, unknown = counter(
        [*TEXTS, "[SEP] the [CLS] [PAD]", "[UNK] cat", long, "zebra zebra giraffe"]
    )
    # Special tokens do not count, typed in the text or not, except the unknown token; a
    # long text counts beyond max_tokens.
    assert tokens.tolist() == [6, 2, 3, 2, 3, 0, 1, 2, 18, 3]
    assert unknown.tolist() == [0, 0, 0, 0, 1, 0, 0, 1, 0, 3]
    assert tokens.dtype == np.int64
    assert unknown.dtype == np.int64


def test_count_tokens_of_no_texts(encoder: OnnxTextEncoder) -> None:
    tokens, unknown = encoder.count_tokens([])
    assert tokens.shape == (0,)
    assert unknown.shape == (0,)


def test_a_tokenizer_without_an_unknown_token_knows_every_text() -> None:
    # Byte-level tokenizers have no unknown token; here, BPE over single letters.
    letters = {letter: index for index, letter in enumerate("abcdefghijkl")}
    tokenizer = Tokenizer(models.BPE(letters, []))
    encoder = OnnxTextEncoder(encoder_graph(inputs=INPUTS[:2]), tokenizer, MAX_TOKENS)
    tokens, unknown = encoder.count_tokens(["abc", "a z"])
    assert tokens.tolist() == [3, 1]
    assert unknown.tolist() == [0, 0]


def test_a_loaded_tokenizer_and_its_json_give_the_same_encoder(
    encoder: OnnxTextEncoder,
) -> None:
    from_object = OnnxTextEncoder(encoder_graph(), wordpiece(), MAX_TOKENS)
    np.testing.assert_array_equal(from_object(TEXTS), encoder(TEXTS))


def test_the_tokenizers_own_truncation_and_padding_are_replaced() -> None:
    # all-MiniLM-L6-v2's tokenizer.json truncates at 128 and pads every text to 128: the
    # encoder truncates at max_tokens instead (here, 3 would cut the text to one word).
    tokenizer = wordpiece()
    tokenizer.enable_truncation(max_length=3)
    tokenizer.enable_padding(length=128, pad_id=0, pad_token="[PAD]")  # noqa: S106
    encoder = OnnxTextEncoder(encoder_graph(), tokenizer.to_str(), MAX_TOKENS)
    np.testing.assert_allclose(
        encoder(["the cat sat on"])[0], expected(ids_of("the", "cat", "sat", "on")), atol=1e-6
    )


def saved(directory: Path, *, tokenizer: bytes | None = TOKENIZER) -> Path:
    companions = {TOKENIZER_KEY: (TOKENIZER_FILE, tokenizer)} if tokenizer is not None else {}
    write_artifact(
        directory, "model.onnx", encoder_graph(), {"framework": "onnx"}, companions=companions
    )
    return directory


def test_load_text_encoder_reads_the_tokenizer_beside_the_artifact(
    tmp_path: Path, encoder: OnnxTextEncoder
) -> None:
    artifact = read_verified(saved(tmp_path))
    assert json.loads((tmp_path / "metadata.json").read_text())[TOKENIZER_KEY]["file"] == (
        "tokenizer.json"
    )
    loaded = load_text_encoder(artifact, MAX_TOKENS)
    np.testing.assert_array_equal(loaded(TEXTS), encoder(TEXTS))
    assert loaded.max_tokens == MAX_TOKENS


def test_an_artifact_without_a_tokenizer_is_refused_with_the_fix(tmp_path: Path) -> None:
    artifact = read_verified(saved(tmp_path, tokenizer=None))
    with pytest.raises(
        ModelLoadError,
        match=r"records no tokenizer, which a text encoder needs: save the model's "
        r"tokenizer\.json with it \(companions=\{'tokenizer': \('tokenizer\.json', data\)\}\)",
    ):
        load_text_encoder(artifact, MAX_TOKENS)


def test_a_changed_tokenizer_is_refused(tmp_path: Path) -> None:
    artifact = read_verified(saved(tmp_path))
    other = wordpiece()
    other.add_tokens(["zebra"])
    (tmp_path / TOKENIZER_FILE).write_text(other.to_str())
    with pytest.raises(ModelLoadError, match=r"does not match the sha256 in metadata\.json"):
        load_text_encoder(artifact, MAX_TOKENS)


@pytest.mark.parametrize(
    ("tokenizer", "message"),
    [
        (b"not json", r"tokenizer\.json is not a tokenizer the tokenizers library can load"),
        (b"{}", r"tokenizer\.json is not a tokenizer the tokenizers library can load"),
        (b"\xff\xfe", r"tokenizer\.json is not UTF-8 text"),
    ],
)
def test_a_tokenizer_that_does_not_load_is_refused(tokenizer: bytes, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        OnnxTextEncoder(encoder_graph(), tokenizer, MAX_TOKENS)


BadGraph = Callable[[], bytes]
MISMATCHES: list[tuple[str, BadGraph, str]] = [
    (
        "no attention mask",
        lambda: encoder_graph(inputs=("input_ids",)),
        r"the text encoder takes 'input_ids' tensor\(int64\) \[batch, sequence\]; it must take "
        r"input_ids and attention_mask \(and optionally token_type_ids\), int64 \[batch, "
        r"sequence\]: export with export_onnx\(encoder, ",
    ),
    (
        "an unknown input",
        lambda: encoder_graph(inputs=(*INPUTS, "position_ids")),
        r"the text encoder takes .*'position_ids' tensor\(int64\).*; it must take input_ids",
    ),
    (
        "float ids",
        lambda: encoder_graph(inputs=INPUTS[:2], id_type=TensorProto.FLOAT),
        r"the text encoder's input is 'input_ids' tensor\(float\) \[batch, sequence\]; it must "
        r"be int64 \[batch, sequence\]",
    ),
    (
        "fixed sequence",
        lambda: encoder_graph(shape=("batch", 16)),
        r"'input_ids' tensor\(int64\) \[batch, 16\] has a fixed size; batches and texts have any "
        r"size: export with dynamic batch and sequence axes",
    ),
    (
        "fixed batch",
        lambda: encoder_graph(shape=(1, "sequence")),
        r"\[1, sequence\] has a fixed size.*dynamic batch and sequence axes",
    ),
    (
        "another output",
        lambda: encoder_graph(output="last_hidden_state"),
        r"the text encoder gives 'last_hidden_state' tensor\(float\) \[batch, 6\]; it must give "
        r"'sentence_embedding', float32 \[batch, dimensions\]",
    ),
    (
        "not normalised",
        lambda: encoder_graph(normalise=False),
        r"'sentence_embedding' has length [\d.]+, not 1: end the module with "
        r"torch\.nn\.functional\.normalize\(pooled, p=2, dim=1\)",
    ),
    (
        "a smaller vocabulary than the tokenizer's",
        lambda: encoder_graph(vectors=TOKEN_VECTORS[:4]),
        r"the graph fails on a tokenised text \(.+\): check that tokenizer\.json is the model's "
        r"own tokenizer",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"), [case[1:] for case in MISMATCHES], ids=[case[0] for case in MISMATCHES]
)
def test_a_graph_that_is_no_sentence_encoder_is_refused_naming_what_differs(
    build: BadGraph, message: str
) -> None:
    with pytest.raises(ModelLoadError, match=message):
        OnnxTextEncoder(build(), TOKENIZER, MAX_TOKENS)


def test_bytes_that_are_no_model_are_refused() -> None:
    with pytest.raises(ModelLoadError, match=r"the text encoder is not an ONNX model"):
        OnnxTextEncoder(b"not a model", TOKENIZER, MAX_TOKENS)


@pytest.mark.parametrize("max_tokens", [1, 0, True, 2.5])
def test_max_tokens_leaves_room_for_a_token(max_tokens: Any) -> None:
    with pytest.raises(ValueError, match="max_tokens must be a whole number of at least 2"):
        OnnxTextEncoder(encoder_graph(), TOKENIZER, max_tokens)


def test_the_tiny_encoder_is_valid_onnx() -> None:
    onnx.checker.check_model(onnx.load_from_string(encoder_graph()), full_check=True)
