"""The modules the export tests export: a tabular MLP, and a sentence encoder recipe.

`SentenceEncoder` is how a model repository turns a Hugging Face BERT (all-MiniLM-L6-v2)
into the graph `OnnxTextEncoder` serves: the transformer, mean pooling over the attention
mask and L2 normalisation, all inside the module, so that they are inside the graph.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class TabularMLP(nn.Module):
    """A small MLP on `TabularSchema.encode`'s matrix: NaN (missing, unseen) as 0 first."""

    def __init__(self, features: int, outputs: int, *, classify: bool, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.layers = nn.Sequential(
            nn.Linear(features, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, outputs)
        )
        self.classify = classify

    def forward(self, matrix: torch.Tensor) -> torch.Tensor:
        scores = self.layers(torch.nan_to_num(matrix, nan=0.0))
        return torch.softmax(scores, dim=-1) if self.classify else scores


class SentenceEncoder(nn.Module):
    """A transformer's tokens, mean-pooled over the attention mask, L2-normalised."""

    def __init__(self, transformer: Any) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
    ) -> torch.Tensor:
        tokens = self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2.0, dim=1)
