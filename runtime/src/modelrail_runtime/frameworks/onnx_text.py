"""Sentence embeddings: a text encoder exported to ONNX, and its tokenizer.

The graph takes ``input_ids`` and ``attention_mask`` (and, for BERT-like models,
``token_type_ids``), int64 ``[batch, sequence]`` with both axes dynamic, and gives
``sentence_embedding``, float32 ``[batch, dimensions]``: pooled and L2-normalised inside
the graph, so that serving is tokenise, run, return. The tokenizer is the model's
``tokenizer.json`` (Hugging Face ``tokenizers``), kept beside the artifact as a companion
file that metadata.json records under ``tokenizer``.

`OnnxTextEncoder` truncates each text to ``max_tokens`` tokens (special tokens included,
as sentence-transformers counts its ``max_seq_length``) and pads a batch to its longest
text; padding is masked out, so a text's embedding does not depend on its batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from ..artifacts import ModelLoadError, read_companion
from .onnx import (
    DEFAULT_THREADS,
    GraphTensor,
    describe,
    graph_inputs,
    graph_outputs,
    open_session,
    ort_reason,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from ..artifacts import VerifiedArtifact

TOKENIZER_KEY: Final = "tokenizer"
"""The metadata.json key of the tokenizer companion file (``{"file", "sha256"}``)."""
TOKENIZER_FILE: Final = "tokenizer.json"
"""The companion file's name beside the artifact."""
MAX_TOKENS_KEY: Final = "max_tokens"
"""The metadata.json key of the longest input the encoder reads, special tokens included
(training records it: ``save_model(..., metadata={"max_tokens": 256})``)."""
EMBEDDING_OUTPUT: Final = "sentence_embedding"
REQUIRED_INPUTS: Final = ("input_ids", "attention_mask")
OPTIONAL_INPUTS: Final = ("token_type_ids",)
_ENCODING: Final = {
    "input_ids": "ids",
    "attention_mask": "attention_mask",
    "token_type_ids": "type_ids",
}
"""Each graph input's field of a tokenizers ``Encoding`` (padded to the batch's longest)."""
NORM_TOLERANCE: Final = 1e-3
"""How far from 1 the length of an L2-normalised float32 embedding may be."""
_PROBE_TEXT: Final = "The quick brown fox jumps over the lazy dog."
_EXPORT: Final = (
    "export_onnx(encoder, (input_ids, attention_mask, token_type_ids), input_names=[...], "
    f"output_names=[{EMBEDDING_OUTPUT!r}], dynamic_axes={{name: {{0: 'batch', 1: 'sequence'}} "
    "for each input}})"
)


class OnnxTextEncoder:
    """Texts in, L2-normalised embeddings out: a tokenizer and an ONNX sentence encoder."""

    def __init__(
        self,
        model: bytes,
        tokenizer: bytes | str | Tokenizer,
        max_tokens: int,
        *,
        threads: int = DEFAULT_THREADS,
        where: str = "the text encoder",
    ) -> None:
        """Load the graph and the tokenizer, check them, and run the graph once.

        Args:
            model: the encoder's ONNX bytes.
            tokenizer: its ``tokenizer.json`` (bytes or text), or a loaded Tokenizer.
            max_tokens: the longest input the model takes, special tokens included (256
                for all-MiniLM-L6-v2): longer texts are truncated.
            threads: threads per operator (see `modelrail_runtime.frameworks.onnx`).
            where: what the bytes are, for messages (the artifact's path).

        Raises:
            ModelLoadError: the graph or the tokenizer is not loadable, the graph does not
                take and give the tensors above, or its embeddings are not L2-normalised.
            ValueError: ``max_tokens`` is below 2 (no room for a token between [CLS] and
                [SEP]).
        """
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 2:
            raise ValueError(f"max_tokens must be a whole number of at least 2, not {max_tokens!r}")
        self.max_tokens = max_tokens
        self._session = open_session(model, threads=threads, where=where)
        self._feeds = _check_inputs(graph_inputs(self._session))
        _check_output(graph_outputs(self._session))
        definition = _definition(tokenizer)
        self._tokenizer = _tokenizer(definition, where)
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(**_padding(self._tokenizer))
        # Counting sees every token of a text, not only the ones the model reads: a text
        # cut at max_tokens still shows its length to monitoring.
        self._counter = _tokenizer(definition, where)
        self._counter.no_truncation()
        self._counter.no_padding()
        self._unknown = _unknown_id(definition, self._counter)
        special = {
            token_id
            for token_id, token in self._counter.get_added_tokens_decoder().items()
            if token.special and token_id != self._unknown
        }
        self._special = np.fromiter(sorted(special), dtype=np.int64, count=len(special))
        self.dimensions = self._probe(where)

    def __call__(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """The texts' embeddings, ``[len(texts), dimensions]``, each of length 1."""
        if len(texts) == 0:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        feeds = {
            name: np.array([getattr(e, _ENCODING[name]) for e in encodings], dtype=np.int64)
            for name in self._feeds
        }
        # InferenceSession.run is thread-safe and releases the GIL.
        embeddings = self._session.run([EMBEDDING_OUTPUT], feeds)[0]
        return np.asarray(embeddings, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Per text, its tokens and how many of them are the tokenizer's unknown token.

        Every token of the text counts, beyond ``max_tokens`` too; special tokens ([CLS],
        [SEP], [PAD]...) do not, even typed in the text, except the unknown token. A
        tokenizer without an unknown token (byte-level BPE) knows every text: 0 unknown.
        Matches `modelrail_runtime.adapter.TokenCounter`.
        """
        rows = len(texts)
        if rows == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy()
        encodings = self._counter.encode_batch(list(texts), add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=rows)
        flat = np.fromiter(
            (token for e in encodings for token in e.ids), dtype=np.int64, count=int(lengths.sum())
        )
        text_of = np.repeat(np.arange(rows), lengths)
        counted = ~np.isin(flat, self._special)
        tokens = np.bincount(text_of, weights=counted, minlength=rows)
        unknown = np.bincount(text_of, weights=flat == self._unknown, minlength=rows)
        return tokens.astype(np.int64), unknown.astype(np.int64)

    def _probe(self, where: str) -> int:
        """Embed one text: the graph must give one L2-normalised vector; its dimensions."""
        try:
            embedding = self([_PROBE_TEXT])
        except Exception as exc:
            raise ModelLoadError(
                f"{where}: the graph fails on a tokenised text ({ort_reason(exc)}): check "
                f"that {TOKENIZER_FILE} is the model's own tokenizer, and export with {_EXPORT}"
            ) from None
        if embedding.ndim != 2 or embedding.shape[0] != 1 or embedding.shape[1] < 1:
            raise ModelLoadError(
                f"{where}: {EMBEDDING_OUTPUT!r} is {list(embedding.shape)} for one text; it "
                "must be [batch, dimensions]: pool the tokens inside the module"
            )
        norm = float(np.linalg.norm(embedding[0].astype(np.float64)))
        if not abs(norm - 1) <= NORM_TOLERANCE:
            raise ModelLoadError(
                f"{where}: {EMBEDDING_OUTPUT!r} has length {norm:.4g}, not 1: end the module "
                "with torch.nn.functional.normalize(pooled, p=2, dim=1) and export again"
            )
        return int(embedding.shape[1])


def load_text_encoder(
    artifact: VerifiedArtifact, max_tokens: int, *, threads: int = DEFAULT_THREADS
) -> OnnxTextEncoder:
    """The encoder of ``artifact``, with the tokenizer metadata.json records beside it.

    Raises:
        ModelLoadError: metadata.json records no tokenizer, the tokenizer file is missing or
            altered, or the encoder does not load (see `OnnxTextEncoder`).
    """
    tokenizer = read_companion(artifact, TOKENIZER_KEY)
    if tokenizer is None:
        raise ModelLoadError(
            f"metadata.json beside {artifact.path} records no {TOKENIZER_KEY}, which a text "
            f"encoder needs: save the model's {TOKENIZER_FILE} with it (companions="
            f"{{{TOKENIZER_KEY!r}: ({TOKENIZER_FILE!r}, data)}}) and re-run `make train`"
        )
    return OnnxTextEncoder(
        artifact.data, tokenizer, max_tokens, threads=threads, where=str(artifact.path)
    )


def _check_inputs(inputs: tuple[GraphTensor, ...]) -> tuple[str, ...]:
    """The names to feed, in the graph's order, after checking each input."""
    names = [tensor.name for tensor in inputs]
    known = (*REQUIRED_INPUTS, *OPTIONAL_INPUTS)
    if any(name not in names for name in REQUIRED_INPUTS) or any(n not in known for n in names):
        raise ModelLoadError(
            f"the text encoder takes {describe(inputs)}; it must take "
            f"{' and '.join(REQUIRED_INPUTS)} (and optionally {', '.join(OPTIONAL_INPUTS)}), "
            "int64 [batch, sequence]: "
            f"export with {_EXPORT}"
        )
    for tensor in inputs:
        if tensor.element_type != "tensor(int64)" or len(tensor.shape) != 2:
            raise ModelLoadError(
                f"the text encoder's input is {tensor.describe()}; it must be int64 "
                f"[batch, sequence]: export with int64 example tensors ({_EXPORT})"
            )
        if tensor.fixed_axis(0) is not None or tensor.fixed_axis(1) is not None:
            raise ModelLoadError(
                f"the text encoder's input {tensor.describe()} has a fixed size; batches and "
                f"texts have any size: export with dynamic batch and sequence axes ({_EXPORT})"
            )
    return tuple(names)


def _check_output(outputs: tuple[GraphTensor, ...]) -> None:
    named = [tensor for tensor in outputs if tensor.name == EMBEDDING_OUTPUT]
    if not named:
        raise ModelLoadError(
            f"the text encoder gives {describe(outputs)}; it must give {EMBEDDING_OUTPUT!r}, "
            f"float32 [batch, dimensions]: export with output_names=[{EMBEDDING_OUTPUT!r}]"
        )
    tensor = named[0]
    if tensor.element_type != "tensor(float)" or len(tensor.shape) != 2:
        raise ModelLoadError(
            f"the text encoder's output is {tensor.describe()}; it must be float32 "
            "[batch, dimensions]"
        )
    if tensor.fixed_axis(0) is not None:
        raise ModelLoadError(
            f"the text encoder's output {tensor.describe()} has a fixed batch size: export "
            f"with a dynamic batch axis ({_EXPORT})"
        )


def _definition(tokenizer: bytes | str | Tokenizer) -> str:
    if isinstance(tokenizer, bytes):
        try:
            return tokenizer.decode("utf-8")
        except UnicodeDecodeError:
            raise ModelLoadError(f"{TOKENIZER_FILE} is not UTF-8 text") from None
    if isinstance(tokenizer, str):
        return tokenizer
    return str(tokenizer.to_str())


def _tokenizer(definition: str, where: str) -> Tokenizer:
    from tokenizers import Tokenizer  # noqa: PLC0415 - the onnx extra's; loads with the model

    try:
        return Tokenizer.from_str(definition)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"{where}: {TOKENIZER_FILE} is not a tokenizer the tokenizers library can load "
            f"({reason}); save the model's own {TOKENIZER_FILE} with it and re-run `make train`"
        ) from None


def _padding(tokenizer: Tokenizer) -> dict[str, Any]:
    """Pad to the longest text of a batch, with the tokenizer's own pad token if it has one."""
    configured = tokenizer.padding or {}
    pad_token = configured.get("pad_token")
    pad_id = configured.get("pad_id")
    if pad_token is None:
        for candidate in ("[PAD]", "<pad>"):
            if tokenizer.token_to_id(candidate) is not None:
                pad_token, pad_id = candidate, tokenizer.token_to_id(candidate)
                break
    # The pad id's value is masked out by the attention mask: 0 when the vocabulary has none.
    return {
        "direction": "right",
        "pad_id": int(pad_id or 0),
        "pad_type_id": int(configured.get("pad_type_id", 0)),
        "pad_token": str(pad_token or "[PAD]"),
    }


def _unknown_id(definition: str, tokenizer: Tokenizer) -> int:
    """The unknown token's id (-1: the tokenizer has none)."""
    try:
        model = json.loads(definition).get("model", {})
    except (ValueError, AttributeError):
        return -1
    token = model.get("unk_token") if isinstance(model, dict) else None
    if isinstance(token, str):
        found = tokenizer.token_to_id(token)
        return -1 if found is None else int(found)
    unk_id = model.get("unk_id") if isinstance(model, dict) else None  # Unigram models
    return int(unk_id) if isinstance(unk_id, int) and not isinstance(unk_id, bool) else -1
