"""Command-line tools for a model repository's Makefile: the model card from training metadata."""
